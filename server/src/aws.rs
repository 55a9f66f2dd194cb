//! The one way Vitals loads an AWS SDK configuration: region, a per-call timeout, an endpoint override and credentials.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use url::Url;

/// Where an AWS client's credentials come from.
pub enum Credentials {
    /// The default chain: environment, profile, the ECS task role.
    DefaultChain,
    /// A provider the caller chose: an assumed role, or fixed keys for a local stand-in in tests.
    Provider(SharedCredentialsProvider),
    /// None at all, for calls that authenticate by what they carry (Cognito's login calls).
    Unsigned,
}

impl From<Option<SharedCredentialsProvider>> for Credentials {
    /// The provider the caller chose, or the default chain when it chose none.
    fn from(provider: Option<SharedCredentialsProvider>) -> Self {
        provider.map_or(Self::DefaultChain, Self::Provider)
    }
}

/// An SDK configuration for `region` whose calls give up after `timeout`, retries included.
pub async fn sdk_config(
    region: &str,
    timeout: Duration,
    endpoint: Option<&Url>,
    credentials: Credentials,
) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .timeout_config(TimeoutConfig::builder().operation_timeout(timeout).build());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    }
    loader = match credentials {
        Credentials::DefaultChain => loader,
        Credentials::Provider(provider) => loader.credentials_provider(provider),
        Credentials::Unsigned => loader.no_credentials(),
    };
    loader.load().await
}
