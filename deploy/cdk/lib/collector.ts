// The ADOT collector sidecar's configuration: the server's traces (OTLP on localhost:4317) to X-Ray,
// and the server's own /metrics (admin port) to the AMP workspace.
import { ADMIN_PORT } from './server-access.ts';

/** The collector's YAML for the stack's region and the AMP workspace's remote-write URL. */
export const collectorConfig = (region: string, remoteWriteUrl: string) => `extensions:
  health_check:
    endpoint: 127.0.0.1:13133
  sigv4auth:
    region: ${region}
    service: aps
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
  prometheus:
    config:
      scrape_configs:
        - job_name: vitals
          scrape_interval: 30s
          static_configs:
            - targets: ["127.0.0.1:${ADMIN_PORT}"]
processors:
  batch: {}
exporters:
  awsxray:
    region: ${region}
  prometheusremotewrite:
    endpoint: ${remoteWriteUrl}
    auth:
      authenticator: sigv4auth
service:
  extensions: [health_check, sigv4auth]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [awsxray]
    metrics:
      receivers: [prometheus]
      processors: [batch]
      exporters: [prometheusremotewrite]
`;
