// Loki on ECS, as the clinic's own setup runs it: chunks and index in S3, working files on an EFS access point,
// reached by Vitals at loki.vitals.internal:3100.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';

export interface LokiServiceProps {
  cluster: ecs.Cluster;
  vpc: ec2.IVpc;
  key: kms.IKey;
  logGroup: logs.ILogGroup;
  /** The only group that may push to and query Loki: the Vitals tasks. */
  clients: ec2.ISecurityGroup;
  /** Loki's image and a shell image that writes its configuration before it starts. */
  image: ecs.ContainerImage;
  shellImage: ecs.ContainerImage;
  executionRole: iam.IRole;
  accessLogs: s3.IBucket;
  /** The VPC endpoints' group, which must admit Loki for its logs and image pulls. */
  endpoints: ec2.SecurityGroup;
  /** The stack's backup plan, which takes Loki's file system too. */
  backups: backup.BackupPlan;
}

export const LOKI_PORT = 3100;
/** The image's user (the Bitnami Loki image runs as 1001). */
const LOKI_UID = '1001';

/** Loki 2.9, single binary, TSDB index and chunks in `bucket`. */
const lokiConfig = (bucket: string, region: string) => `auth_enabled: false
server:
  http_listen_port: ${LOKI_PORT}
common:
  path_prefix: /loki
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
  storage:
    s3:
      bucketnames: ${bucket}
      region: ${region}
schema_config:
  configs:
    - from: "2024-01-01"
      store: tsdb
      object_store: s3
      schema: v13
      index:
        prefix: index_
        period: 24h
storage_config:
  tsdb_shipper:
    active_index_directory: /loki/tsdb-index
    cache_location: /loki/tsdb-cache
    shared_store: s3
compactor:
  working_directory: /loki/compactor
  shared_store: s3
  retention_enabled: true
limits_config:
  retention_period: 2160h
`;

export class LokiService extends Construct {
  readonly service: ecs.FargateService;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: LokiServiceProps) {
    super(scope, id);
    const { vpc, key } = props;
    const privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

    const bucket = new s3.Bucket(this, 'Chunks', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'loki-chunks/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(bucket, [
      {
        id: 'HIPAA.Security-S3BucketReplicationEnabled',
        reason: "Loki's chunks are kept in one region with versioning; a replica bucket is the platform's choice",
      },
    ]);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Loki: pushes and queries from the Vitals tasks only',
      allowAllOutbound: true,
    });
    this.securityGroup.addIngressRule(props.clients, ec2.Port.tcp(LOKI_PORT), 'Loki from the Vitals tasks');
    props.endpoints.addIngressRule(this.securityGroup, ec2.Port.tcp(443), 'AWS APIs for Loki');

    const fileSystem = new efs.FileSystem(this, 'Files', {
      vpc,
      vpcSubnets: privateSubnets,
      encrypted: true,
      kmsKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    props.backups.addSelection('LokiFiles', { resources: [backup.BackupResource.fromEfsFileSystem(fileSystem)] });
    fileSystem.connections.allowDefaultPortFrom(this.securityGroup, 'Loki mounts its working files');
    const accessPoint = fileSystem.addAccessPoint('Loki', {
      path: '/loki',
      posixUser: { uid: LOKI_UID, gid: LOKI_UID },
      createAcl: { ownerUid: LOKI_UID, ownerGid: LOKI_UID, permissions: '750' },
    });

    const taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Loki: its bucket and its access point',
    });
    bucket.grantReadWrite(taskRole);
    bucket.grantDelete(taskRole);
    fileSystem.grant(taskRole, 'elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite');
    NagSuppressions.addResourceSuppressions(
      taskRole,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: 'Loki reads, writes and deletes the objects of its own bucket, whose names it chooses',
        },
        {
          id: 'HIPAA.Security-IAMNoInlinePolicy',
          reason: 'the grants aws-cdk-lib writes for this role alone: its bucket, its key and its file system',
        },
      ],
      true,
    );

    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: 1024,
      memoryLimitMiB: 2048,
      taskRole,
      executionRole: props.executionRole,
    });
    taskDefinition.addVolume({
      name: 'files',
      efsVolumeConfiguration: {
        fileSystemId: fileSystem.fileSystemId,
        transitEncryption: 'ENABLED',
        authorizationConfig: { accessPointId: accessPoint.accessPointId, iam: 'ENABLED' },
      },
    });
    taskDefinition.addVolume({ name: 'config' });
    const logging = ecs.LogDrivers.awsLogs({ streamPrefix: 'loki', logGroup: props.logGroup });
    // ECS passes no files: a shell writes the configuration into the task's volume before Loki starts.
    const writeConfig = taskDefinition.addContainer('write-config', {
      image: props.shellImage,
      essential: false,
      command: ['sh', '-c', 'printf "%s" "$LOKI_CONFIG" > /etc/loki/loki.yaml'],
      environment: { LOKI_CONFIG: lokiConfig(bucket.bucketName, Stack.of(this).region) },
      readonlyRootFilesystem: true,
      user: LOKI_UID,
      logging,
    });
    writeConfig.addMountPoints({ sourceVolume: 'config', containerPath: '/etc/loki', readOnly: false });
    const loki = taskDefinition.addContainer('loki', {
      image: props.image,
      essential: true,
      command: ['-config.file=/etc/loki/loki.yaml'],
      entryPoint: ['/opt/bitnami/grafana-loki/bin/loki'],
      portMappings: [{ containerPort: LOKI_PORT }],
      readonlyRootFilesystem: true,
      user: LOKI_UID,
      logging,
    });
    loki.addMountPoints(
      { sourceVolume: 'config', containerPath: '/etc/loki', readOnly: true },
      { sourceVolume: 'files', containerPath: '/loki', readOnly: false },
    );
    loki.addContainerDependencies({ container: writeConfig, condition: ecs.ContainerDependencyCondition.SUCCESS });
    NagSuppressions.addResourceSuppressions(taskDefinition, [
      { id: 'AwsSolutions-ECS2', reason: 'the one variable is the configuration of Loki, with no secret in it' },
    ]);

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition,
      desiredCount: 1,
      vpcSubnets: privateSubnets,
      securityGroups: [this.securityGroup],
      assignPublicIp: false,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      cloudMapOptions: { name: 'loki', dnsTtl: Duration.seconds(30) },
    });
  }
}
