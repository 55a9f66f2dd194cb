// What the Vitals server reaches with its task role's credentials, as the stack grants it.
// test/least-privilege.test.ts reads the server's Rust code and fails when this and the code differ.

/** One DynamoDB table of the server's stores; `store` is its module, server/src/store/dynamo/<store>.rs. */
export interface StoreTable {
  store: 'session' | 'audit' | 'links' | 'status';
  /** The `[dynamodb]` key that names the table, and the variable the task sets it with. */
  configKey: string;
  variable: string;
  partitionKey: string;
  sortKey?: string;
  /** The attribute DynamoDB's time to live reads, for tables whose items expire. */
  ttl?: string;
  /** The DynamoDB actions the store's code calls on this table, and no other. */
  actions: string[];
}

export const STORE_TABLES: StoreTable[] = [
  {
    store: 'session',
    configKey: 'table',
    variable: 'VITALS_SESSION_TABLE',
    partitionKey: 'id_hash',
    ttl: 'ttl',
    actions: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
  },
  {
    store: 'audit',
    configKey: 'audit_table',
    variable: 'VITALS_AUDIT_TABLE',
    partitionKey: 'month',
    sortKey: 'seq',
    actions: ['dynamodb:BatchWriteItem', 'dynamodb:Query'],
  },
  {
    store: 'links',
    configKey: 'links_table',
    variable: 'VITALS_DYNAMODB_LINKS_TABLE',
    partitionKey: 'id',
    actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
  },
  {
    store: 'status',
    configKey: 'status_table',
    variable: 'VITALS_DYNAMODB_STATUS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  },
];

/** The X-Ray reads behind trace search, one trace and the service map. X-Ray has no resource ARNs for them. */
export const XRAY_READS = ['xray:BatchGetTraces', 'xray:GetServiceGraph', 'xray:GetTraceSummaries'];

/** The AMP query API the Prometheus source calls, SigV4-signed for service `aps`, on the workspace. */
export const AMP_READS = ['aps:GetLabels', 'aps:GetMetricMetadata', 'aps:GetSeries', 'aps:QueryMetrics'];

/** What the ADOT collector sidecar writes with the same task role (ECS gives a task one role). */
export const COLLECTOR_XRAY_WRITES = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
export const COLLECTOR_AMP_WRITES = ['aps:RemoteWrite'];

/** The Cognito groups the server maps to its roles. */
export const ROLE_GROUPS = ['clinician', 'operations', 'engineer', 'admin'];

/** Where the server listens in the task: the public port behind the load balancer, and the admin port only the collector scrapes. */
export const PUBLIC_PORT = 8080;
export const ADMIN_PORT = 9091;
/** The image's user (deploy/Dockerfile). */
export const IMAGE_USER = '10001:10001';
