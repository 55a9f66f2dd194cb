//! What every component's settings share: the error that names a key, and the checks on
//! upstream URLs and AWS regions. Each component owns its settings and validates them here.

use url::Url;

/// A setting that cannot be used; `key` is its full name, such as `loki.url` or `guard.timeout_ms`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}` {problem}")]
pub struct InvalidSetting {
    pub key: String,
    pub problem: String,
}

impl InvalidSetting {
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// An upstream URL: http or https, a host, and no user or password in it, as those would
/// travel with every request.
pub fn check_http_url(key: &str, url: &Url) -> Result<(), InvalidSetting> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(InvalidSetting::new(
            key,
            format!(
                "is \"{}\"; use an http:// or https:// URL with a host, such as http://host:port",
                without_credentials(url)
            ),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(InvalidSetting::new(
            key,
            "carries a user name or password, which would travel with every request; remove them \
             (credentials come from the AWS chain or the tenant setting)",
        ));
    }
    Ok(())
}

/// The URL as it may be printed: no user name or password.
pub fn without_credentials(url: &Url) -> String {
    let mut printable = url.clone();
    let _ = printable.set_username("");
    let _ = printable.set_password(None);
    printable.into()
}

/// An AWS region name such as `eu-west-1`.
pub fn check_region(key: &str, region: &str) -> Result<(), InvalidSetting> {
    if is_region(region) {
        return Ok(());
    }
    Err(InvalidSetting::new(
        key,
        format!("is \"{region}\"; use an AWS region name such as eu-west-1"),
    ))
}

/// Whether `value` reads as an AWS region name: lower-case parts joined by `-`, the last a number.
pub fn is_region(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|last| last.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn upstream_urls_are_http_with_a_host_and_no_credentials() {
        assert_eq!(
            check_http_url("loki.url", &url("https://loki.internal:3100/prefix")),
            Ok(())
        );
        let refused = check_http_url("loki.url", &url("ftp://loki")).unwrap_err();
        assert_eq!(refused.key, "loki.url");
        assert!(refused.problem.contains("http://"), "{refused}");
        let refused = check_http_url("xray.endpoint", &url("http://user:pw@xray")).unwrap_err();
        assert!(refused.problem.contains("user name or password"), "{refused}");
        assert!(!refused.to_string().contains("pw"), "{refused}");
        assert!(check_http_url("loki.url", &url("unix:/run/loki.sock")).is_err());
    }

    #[test]
    fn regions_read_as_aws_names() {
        for region in ["eu-west-1", "us-gov-west-1", "ap-southeast-2"] {
            assert_eq!(check_region("xray.region", region), Ok(()), "{region}");
        }
        for region in ["", "eu", "EU-WEST-1", "eu-west", "eu--1", "eu-west-x"] {
            let refused = check_region("xray.region", region).unwrap_err();
            assert!(refused.problem.contains("eu-west-1"), "{refused}");
        }
    }
}
