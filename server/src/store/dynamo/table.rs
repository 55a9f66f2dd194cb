//! What the DynamoDB stores share: the client for one table, creating the table, and what an SDK error means.

use std::collections::HashMap;
use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

use super::DynamoConfig;
use crate::aws::sdk_config;
use crate::store::StoreError;

/// How long `create_unless_present` waits for a new table to become active.
const TABLE_ACTIVE_WITHIN: Duration = Duration::from_secs(120);

/// What a store needs the table to be, for the messages that say how to fix it.
pub(super) struct Layout {
    /// How the table is made, as a sentence ending the "create it with …" advice.
    pub(super) keys: &'static str,
    /// The IAM actions the server's role needs on it.
    pub(super) permissions: &'static str,
    /// What one item is, for the message about an item that cannot be read.
    pub(super) item: &'static str,
}

/// One DynamoDB table and the client that reaches it.
#[derive(Clone)]
pub(super) struct Table {
    pub(super) client: Client,
    pub(super) name: String,
    timeout: Duration,
    layout: &'static Layout,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Table")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Table {
    /// A client for the table `name` where `config` says, each call waiting at most `timeout`,
    /// with credentials from `provider` or the default AWS chain.
    pub(super) async fn connect(
        name: &str,
        config: &DynamoConfig,
        timeout: Duration,
        provider: Option<SharedCredentialsProvider>,
        layout: &'static Layout,
    ) -> Result<Self, StoreError> {
        config
            .validate()
            .map_err(|invalid| StoreError::Unavailable(invalid.to_string()))?;
        let sdk_config = sdk_config(&config.region, timeout, config.endpoint.as_ref(), provider.into()).await;
        Ok(Self {
            client: Client::new(&sdk_config),
            name: name.to_owned(),
            timeout,
            layout,
        })
    }

    /// Creates the table, with on-demand capacity and string `keys` (the partition key, then
    /// the sort key if any), unless it exists, and waits until it is active. True when it was
    /// missing: made just now, by this call or by another replica's.
    pub(super) async fn create_unless_present(&self, keys: &[(&str, KeyType)]) -> Result<bool, StoreError> {
        let described = self.client.describe_table().table_name(&self.name).send().await;
        match described {
            Ok(_) => return Ok(false),
            Err(error) if error.code() == Some("ResourceNotFoundException") => {}
            Err(error) => return Err(self.error("look up", error)),
        }
        let mut create = self
            .client
            .create_table()
            .table_name(&self.name)
            .billing_mode(BillingMode::PayPerRequest);
        for (name, kind) in keys {
            let attribute = AttributeDefinition::builder()
                .attribute_name(*name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|error| self.invalid_request(error))?;
            let key = KeySchemaElement::builder()
                .attribute_name(*name)
                .key_type(kind.clone())
                .build()
                .map_err(|error| self.invalid_request(error))?;
            create = create.attribute_definitions(attribute).key_schema(key);
        }
        match create.send().await {
            Ok(_) => {}
            // Another replica created it first.
            Err(error) if error.code() == Some("ResourceInUseException") => {}
            Err(error) => return Err(self.error("create", error)),
        }
        self.client
            .wait_until_table_exists()
            .table_name(&self.name)
            .wait(TABLE_ACTIVE_WITHIN)
            .await
            .map_err(|error| {
                StoreError::Unavailable(format!(
                    "the DynamoDB table `{}` did not become active within {} s ({}); look at it in the AWS console",
                    self.name,
                    TABLE_ACTIVE_WITHIN.as_secs(),
                    DisplayErrorContext(&error)
                ))
            })?;
        Ok(true)
    }

    pub(super) fn invalid_request(&self, error: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable(format!(
            "the request for the DynamoDB table `{}` could not be built ({error})",
            self.name
        ))
    }

    /// An item this server cannot read: which attribute, and what to do.
    pub(super) fn corrupt(&self, attribute: &str) -> StoreError {
        StoreError::Corrupt(format!(
            "{} in the DynamoDB table `{}` has no readable `{attribute}`; delete that item, or restore the table",
            self.layout.item, self.name
        ))
    }

    /// The string attribute `name` of an item read from this table.
    pub(super) fn text(
        &self,
        item: &HashMap<String, AttributeValue>,
        name: &str,
    ) -> Result<String, StoreError> {
        item.get(name)
            .and_then(|value| value.as_s().ok())
            .cloned()
            .ok_or_else(|| self.corrupt(name))
    }

    /// The integer attribute `name` of an item read from this table.
    pub(super) fn integer(
        &self,
        item: &HashMap<String, AttributeValue>,
        name: &str,
    ) -> Result<i64, StoreError> {
        item.get(name)
            .and_then(|value| value.as_n().ok())
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| self.corrupt(name))
    }

    /// What an SDK error means, naming the table and what to do; a failed condition is a `Conflict`.
    pub(super) fn error<E>(&self, what: &str, error: SdkError<E>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let table = &self.name;
        let said = error.message().unwrap_or("no message").to_owned();
        match &error {
            SdkError::TimeoutError(_) => {
                return StoreError::Unavailable(format!(
                    "DynamoDB did not answer within {} ms when asked to {what} the table `{table}`; \
                     check the network path to DynamoDB",
                    self.timeout.as_millis()
                ));
            }
            SdkError::DispatchFailure(_) => {
                return StoreError::Unavailable(format!(
                    "DynamoDB could not be reached to {what} the table `{table}` ({}); \
                     check the network path and the endpoint override if one is set",
                    DisplayErrorContext(&error)
                ));
            }
            _ => {}
        }
        match error.code().unwrap_or_default() {
            "ConditionalCheckFailedException" => StoreError::Conflict,
            "ResourceNotFoundException" => StoreError::Unavailable(format!(
                "the DynamoDB table `{table}` does not exist in this region; create it with {}, or correct the table name",
                self.layout.keys
            )),
            "AccessDeniedException" | "AccessDenied" => StoreError::Unavailable(format!(
                "DynamoDB denied access to the table `{table}` ({said}); the server's IAM role needs {} on it",
                self.layout.permissions
            )),
            "ThrottlingException" | "ProvisionedThroughputExceededException" | "RequestLimitExceeded" => {
                StoreError::Unavailable(format!(
                    "DynamoDB is throttling the table `{table}`; try again shortly, or raise its capacity"
                ))
            }
            code @ ("UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "MissingAuthenticationToken") => StoreError::Unavailable(format!(
                "DynamoDB refused the server's AWS credentials ({code}: {said}); check the task role or the credentials in the environment"
            )),
            _ => StoreError::Unavailable(format!(
                "cannot {what} the DynamoDB table `{table}` ({}); check the table and the server's AWS access",
                DisplayErrorContext(&error)
            )),
        }
    }
}

pub(super) fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
