//! Harness for moto (`moto[server]` from PyPI): a local stand-in for AWS X-Ray and DynamoDB on a loopback port, and the sources and stores pointed at it.
//!
//! moto 5.2.5 answers GetTraceSummaries with `"Users": {}` where AWS answers
//! a list, and Cognito's `MFA_SETUP` with `"MFAS_CAN_SETUP": [...]` where AWS
//! answers a string (challenge parameters are strings); boto3 lets both pass,
//! the Rust SDK refuses the whole answer. So the harness puts a small relay
//! in front of moto that corrects those two fields and passes everything else
//! through unchanged; the product is not bent to suit the double.

use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tempfile::TempDir;
use url::Url;
use vitals_api::Trace;
use vitals_api::clock::Clock;
use vitals_server::sources::xray::{XRayConfig, XRaySource, segment_documents};
use vitals_server::store::{
    DynamoAuditLog, DynamoConfig, DynamoLinkStore, DynamoSessionStore, DynamoStatusStore,
};

use crate::{free_port, wait_for_process};

/// The most segment documents one PutTraceSegments call takes.
const DOCUMENTS_PER_PUT: usize = 50;
/// How long moto may take to import its services and answer.
const READY_WITHIN: Duration = Duration::from_secs(60);
/// The region the X-Ray source asks moto for; moto keeps data per region.
pub const MOTO_REGION: &str = "eu-west-1";
/// How long one call to moto may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The dummy credentials moto accepts, given to each client rather than the process
/// environment, as tests run in parallel.
fn credentials() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "test"))
}

/// A `moto_server` process on a loopback port behind the correcting relay; both stop when dropped.
pub struct MotoServer {
    /// Where moto itself listens.
    pub address: SocketAddr,
    /// Where the relay listens: what clients should use.
    pub relay_address: SocketAddr,
    process: Child,
    relay: tokio::task::JoinHandle<()>,
    dir: TempDir,
}

impl MotoServer {
    /// Starts `moto_server` from the virtualenv (`VITALS_MOTO_VENV`, else
    /// `~/.cache/vitals/moto-venv`) and waits until it answers `/moto-api/`.
    pub async fn start() -> Result<Self> {
        let moto_server = venv()?.join("bin").join("moto_server");
        if !moto_server.exists() {
            bail!(
                "moto is not installed at {}; run the tests through `cargo xtask test`, which creates it",
                moto_server.display()
            );
        }
        let dir = tempfile::tempdir()?;
        let log = fs::File::create(dir.path().join("moto.log"))?;
        let address = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let process = Command::new(&moto_server)
            .args(["-H", "127.0.0.1", "-p", &address.port().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", moto_server.display()))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let relay_address = listener.local_addr()?;
        let relay = tokio::spawn(relay(listener, format!("http://{address}")));
        let mut server = Self {
            address,
            relay_address,
            process,
            relay,
            dir,
        };
        server.wait_until_ready().await?;
        Ok(server)
    }

    /// The relay's address, through which clients reach moto.
    pub fn url(&self) -> String {
        format!("http://{}", self.relay_address)
    }

    /// The relay's address as an endpoint override in a component's configuration.
    pub fn endpoint(&self) -> Url {
        Url::parse(&self.url()).expect("a socket address makes a URL")
    }

    /// An X-Ray source on this moto.
    pub async fn xray_source(&self) -> Result<XRaySource> {
        let config = XRayConfig {
            region: MOTO_REGION.to_owned(),
            endpoint: Some(self.endpoint()),
        };
        Ok(XRaySource::with_credentials_provider(config, CALL_TIMEOUT, credentials()).await?)
    }

    /// Puts the traces' segment documents into this moto's X-Ray (PutTraceSegments, fifty to
    /// a call), as the X-Ray daemon would; any document X-Ray refuses is an error.
    pub async fn put_traces(&self, traces: &[Trace]) -> Result<()> {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(MOTO_REGION))
            .credentials_provider(credentials())
            .endpoint_url(self.url())
            .load()
            .await;
        let client = aws_sdk_xray::Client::new(&config);
        let documents: Vec<String> = traces.iter().flat_map(segment_documents).collect();
        for batch in documents.chunks(DOCUMENTS_PER_PUT) {
            let answer = client
                .put_trace_segments()
                .set_trace_segment_documents(Some(batch.to_vec()))
                .send()
                .await
                .context("PutTraceSegments to moto failed")?;
            if let Some(refused) = answer.unprocessed_trace_segments().first() {
                bail!(
                    "moto refused {} segment(s), the first with {:?}: {:?}",
                    answer.unprocessed_trace_segments().len(),
                    refused.error_code(),
                    refused.message()
                );
            }
        }
        Ok(())
    }

    /// The DynamoDB session store on `table` in this moto (the table is not created).
    pub async fn session_store(&self, table: &str) -> Result<DynamoSessionStore> {
        let config = self.dynamo_config(table, None);
        Ok(DynamoSessionStore::new(&config, CALL_TIMEOUT, Some(credentials())).await?)
    }

    /// The DynamoDB audit trail on `table` in this moto (the table is not created), its reads
    /// ending at `clock`'s now.
    pub async fn audit_log(&self, table: &str, clock: Arc<dyn Clock>) -> Result<DynamoAuditLog> {
        let config = self.dynamo_config(&format!("{table}-sessions"), Some(table));
        Ok(DynamoAuditLog::new(&config, CALL_TIMEOUT, Some(credentials()), clock).await?)
    }

    /// The DynamoDB share-link store on `table` in this moto (the table is not created).
    pub async fn link_store(&self, table: &str) -> Result<DynamoLinkStore> {
        let config = DynamoConfig {
            links_table: Some(table.to_owned()),
            ..self.dynamo_config(&format!("{table}-sessions"), None)
        };
        Ok(DynamoLinkStore::new(&config, CALL_TIMEOUT, Some(credentials())).await?)
    }

    /// The DynamoDB status store on `table` in this moto (the table is not created).
    pub async fn status_store(&self, table: &str) -> Result<DynamoStatusStore> {
        let config = DynamoConfig {
            status_table: Some(table.to_owned()),
            ..self.dynamo_config(&format!("{table}-sessions"), None)
        };
        Ok(DynamoStatusStore::new(&config, CALL_TIMEOUT, Some(credentials())).await?)
    }

    fn dynamo_config(&self, table: &str, audit_table: Option<&str>) -> DynamoConfig {
        DynamoConfig {
            table: table.to_owned(),
            audit_table: audit_table.map(str::to_owned),
            links_table: None,
            status_table: None,
            region: MOTO_REGION.to_owned(),
            endpoint: Some(self.endpoint()),
        }
    }

    /// Waits until moto is ready, or fails with its log if it exits first.
    async fn wait_until_ready(&mut self) -> Result<()> {
        let ready_url = format!("http://{}/moto-api/", self.address);
        let log_file = self.dir.path().join("moto.log");
        wait_for_process("moto", &mut self.process, &ready_url, READY_WITHIN, &log_file).await
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.relay.abort();
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Serves the relay on `listener`, forwarding every request to `moto`.
async fn relay(listener: tokio::net::TcpListener, moto: String) {
    let app = axum::Router::new()
        .fallback(forward)
        .with_state((reqwest::Client::new(), moto));
    let _ = axum::serve(listener, app).await;
}

/// Passes a request to moto and its answer back, with `"Users": {}` in trace summaries made a
/// list and challenge parameters made strings.
async fn forward(
    State((client, moto)): State<(reqwest::Client, String)>,
    method: Method,
    uri: Uri,
    mut headers: HeaderMap,
    body: Bytes,
) -> Response {
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    let answer = match client
        .request(method, format!("{moto}{path}"))
        .headers(headers)
        .body(body)
        .send()
        .await
    {
        Ok(answer) => answer,
        Err(error) => {
            return (StatusCode::BAD_GATEWAY, format!("moto did not answer: {error}")).into_response();
        }
    };
    let status = answer.status();
    let mut headers = answer.headers().clone();
    let Ok(body) = answer.bytes().await else {
        return (StatusCode::BAD_GATEWAY, "moto's answer could not be read").into_response();
    };
    let body = if uri.path() == "/TraceSummaries" {
        Bytes::from(String::from_utf8_lossy(&body).replace(r#""Users": {}"#, r#""Users": []"#))
    } else {
        challenge_parameters_as_strings(body)
    };
    for hop in [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
    ] {
        headers.remove(hop);
    }
    (status, headers, body).into_response()
}

/// A Cognito answer whose `ChallengeParameters` hold a list, with the list as the JSON string
/// AWS sends (`"[\"SOFTWARE_TOKEN_MFA\"]"`); any other body unchanged.
fn challenge_parameters_as_strings(body: Bytes) -> Bytes {
    let Ok(mut answer) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    let Some(parameters) = answer
        .get_mut("ChallengeParameters")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return body;
    };
    let mut corrected = false;
    for value in parameters.values_mut() {
        if !value.is_string() {
            *value = serde_json::Value::String(value.to_string());
            corrected = true;
        }
    }
    if corrected {
        Bytes::from(answer.to_string())
    } else {
        body
    }
}

/// The test virtualenv: moto runs from it, and schemathesis.
pub fn venv() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("VITALS_MOTO_VENV") {
        return Ok(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME")
        .context("neither VITALS_MOTO_VENV nor HOME is set, so the moto virtualenv cannot be found")?;
    Ok(PathBuf::from(home).join(".cache/vitals/moto-venv"))
}
