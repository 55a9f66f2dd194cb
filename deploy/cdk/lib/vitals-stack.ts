// The stack Vitals runs in: a private network reached over Client VPN, an internal load balancer,
// the ECS service with its collector and log router, and the identity and storage it uses.
import {
  Aws,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import * as aps from 'aws-cdk-lib/aws-aps';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';

import { collectorConfig } from './collector.ts';
import { LokiService } from './loki.ts';
import {
  ADMIN_PORT,
  AMP_READS,
  COLLECTOR_AMP_WRITES,
  COLLECTOR_XRAY_WRITES,
  IMAGE_USER,
  PUBLIC_PORT,
  ROLE_GROUPS,
  STORE_TABLES,
  XRAY_READS,
} from './server-access.ts';

export interface VitalsStackProps extends StackProps {
  /** Named so that synth needs no AWS lookup. */
  availabilityZones: string[];
  /** Run Loki on ECS beside Vitals (S3 for chunks, EFS for its working files), as the clinic's own setup does. */
  loki: boolean;
}

/** Sidecar images, pulled through the account's ECR from ECR Public: the private subnets have no internet route. */
/** The function aws-cdk-lib adds to the stack to read the app client's secret at deploy time. */
const AWS_CUSTOM_RESOURCE_FUNCTION = 'AWS679f53fac002430cb0da5b7982bd2287';
const ECR_PUBLIC_PREFIX = 'ecr-public';
export const COLLECTOR_IMAGE = { repository: 'aws-observability/aws-otel-collector', tag: 'v0.43.3' };
export const LOG_ROUTER_IMAGE = { repository: 'aws-observability/aws-for-fluent-bit', tag: '2.32.5' };
export const LOKI_IMAGE = { repository: 'bitnami/grafana-loki', tag: '2.9.8' };
export const SHELL_IMAGE = { repository: 'docker/library/busybox', tag: '1.36' };

export class VitalsStack extends Stack {
  readonly taskRole: iam.Role;
  readonly serverPolicy: iam.ManagedPolicy;
  readonly collectorPolicy: iam.ManagedPolicy;
  readonly vpnSecurityGroup: ec2.SecurityGroup;
  readonly loadBalancerSecurityGroup: ec2.SecurityGroup;
  readonly serviceSecurityGroup: ec2.SecurityGroup;
  readonly endpointSecurityGroup: ec2.SecurityGroup;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly backups: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: VitalsStackProps) {
    super(scope, id, props);

    // ---- parameters --------------------------------------------------------------------------
    const vpnServerCertificateArn = new CfnParameter(this, 'VpnServerCertificateArn', {
      type: 'String',
      description: 'ACM certificate ARN of the Client VPN endpoint (server side of mutual TLS)',
      allowedPattern: '^arn:aws[a-z-]*:acm:.+',
    });
    const vpnClientCertificateArn = new CfnParameter(this, 'VpnClientCertificateArn', {
      type: 'String',
      description: "ACM certificate ARN of the CA that issued the VPN users' client certificates",
      allowedPattern: '^arn:aws[a-z-]*:acm:.+',
    });
    const vpnClientCidr = new CfnParameter(this, 'VpnClientCidr', {
      type: 'String',
      default: '10.100.0.0/22',
      description: 'Addresses given to VPN users; the only ones that may reach the load balancer',
    });
    const listenerCertificateArn = new CfnParameter(this, 'ListenerCertificateArn', {
      type: 'String',
      description: "ACM certificate ARN for the load balancer's HTTPS listener (the name people open)",
      allowedPattern: '^arn:aws[a-z-]*:acm:.+',
    });
    const imageTag = new CfnParameter(this, 'ImageTag', {
      type: 'String',
      default: 'latest',
      description: "Tag of the Vitals image in the stack's ECR repository",
    });
    const desiredCount = new CfnParameter(this, 'DesiredCount', {
      type: 'Number',
      default: 2,
      minValue: 0,
      maxValue: 10,
      description: 'Vitals tasks to run (0 until the first image is pushed); every replica shares the DynamoDB tables',
    });
    const lokiUrl = new CfnParameter(this, 'LokiUrl', {
      type: 'String',
      default: props.loki ? 'http://loki.vitals.internal:3100' : 'http://loki.internal:3100',
      allowedPattern: '^https?://[^/@:]+:[0-9]+$',
      description: 'Base URL of the Loki that Vitals reads and its own logs go to (scheme://host:port)',
    });
    const lokiTenant = new CfnParameter(this, 'LokiTenant', {
      type: 'String',
      default: '',
      description: "X-Scope-OrgID of the clinic's Loki tenant; empty when Loki runs without tenants",
    });
    const githubRepository = new CfnParameter(this, 'GitHubRepository', {
      type: 'String',
      allowedPattern: '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$',
      description: 'owner/name of the repository whose CI pushes the image',
    });
    const githubBranch = new CfnParameter(this, 'GitHubBranch', {
      type: 'String',
      default: 'main',
      description: 'The branch whose CI runs may push images and roll the service',
    });
    const githubOidcProviderArn = new CfnParameter(this, 'GitHubOidcProviderArn', {
      type: 'String',
      default: '',
      description:
        "ARN of the account's existing token.actions.githubusercontent.com OIDC provider; empty to create one",
    });

    // ---- keys and logs -----------------------------------------------------------------------
    const key = new kms.Key(this, 'DataKey', {
      description: 'Vitals: logs, tables, secrets, repository and buckets',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    key.grantEncryptDecrypt(new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`));
    const logGroup = (name: string) =>
      new logs.LogGroup(this, `${name}Logs`, {
        encryptionKey: key,
        retention: logs.RetentionDays.ONE_YEAR,
        removalPolicy: RemovalPolicy.RETAIN,
      });

    // ---- network -----------------------------------------------------------------------------
    const vpc = new ec2.Vpc(this, 'Network', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      availabilityZones: props.availabilityZones,
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
      ],
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(logGroup('Flow')),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
    });
    const privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    for (const subnet of vpc.publicSubnets) {
      NagSuppressions.addResourceSuppressions(subnet, [
        {
          id: 'HIPAA.Security-VPCNoUnrestrictedRouteToIGW',
          reason:
            'only the public subnets route to the internet gateway, and nothing of Vitals runs in them; the private subnets have no route out',
        },
      ], true);
    }
    NagSuppressions.addResourceSuppressions(vpc, [
      {
        id: 'HIPAA.Security-VPCDefaultSecurityGroupClosed',
        reason:
          'nothing in this stack uses the default security group; closing its rules needs a deploy-time function, which the account baseline already runs',
      },
      {
        id: 'HIPAA.Security-IAMNoInlinePolicy',
        reason: "the flow log role's one statement, written by aws-cdk-lib for this log group only",
      },
    ], true);
    // The AWS APIs the server and its sidecars call, so the private subnets need no route out.
    vpc.addGatewayEndpoint('DynamoDb', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: [privateSubnets] });
    vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [privateSubnets] });
    const interfaceEndpoints: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
      XRay: ec2.InterfaceVpcEndpointAwsService.XRAY,
      AmpQuery: ec2.InterfaceVpcEndpointAwsService.PROMETHEUS_WORKSPACES,
      CognitoIdp: ec2.InterfaceVpcEndpointAwsService.COGNITO_IDP,
      EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
      EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
      Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
      SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    };
    // The endpoints answer the tasks' groups only (the Vitals tasks, and Loki's when it runs here).
    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: 'VPC endpoints: HTTPS from the tasks of this stack',
      allowAllOutbound: false,
    });
    for (const [name, service] of Object.entries(interfaceEndpoints)) {
      vpc.addInterfaceEndpoint(name, {
        service,
        subnets: privateSubnets,
        privateDnsEnabled: true,
        open: false,
        securityGroups: [this.endpointSecurityGroup],
      });
    }

    // Client VPN source-NATs its users to its own network interfaces, which carry this group:
    // the load balancer admits this group, so only the VPN's client range reaches it.
    this.vpnSecurityGroup = new ec2.SecurityGroup(this, 'VpnSecurityGroup', {
      vpc,
      description: 'Client VPN endpoint: the traffic of VPN users (VpnClientCidr)',
      allowAllOutbound: false,
    });
    const vpn = vpc.addClientVpnEndpoint('Vpn', {
      cidr: vpnClientCidr.valueAsString,
      serverCertificateArn: vpnServerCertificateArn.valueAsString,
      clientCertificateArn: vpnClientCertificateArn.valueAsString,
      vpcSubnets: privateSubnets,
      securityGroups: [this.vpnSecurityGroup],
      authorizeAllUsersToVpcCidr: false,
      splitTunnel: true,
      logging: true,
      logGroup: logGroup('Vpn'),
      transportProtocol: ec2.TransportProtocol.TCP,
    });

    this.loadBalancerSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc,
      description: 'Vitals load balancer: HTTPS from the Client VPN only',
      allowAllOutbound: false,
    });
    this.loadBalancerSecurityGroup.addIngressRule(this.vpnSecurityGroup, ec2.Port.tcp(443), 'HTTPS from VPN users');
    this.vpnSecurityGroup.addEgressRule(this.loadBalancerSecurityGroup, ec2.Port.tcp(443), 'HTTPS to Vitals');
    for (const subnet of vpc.isolatedSubnets) {
      vpn.addAuthorizationRule(`Private${subnet.node.id}`, {
        cidr: subnet.ipv4CidrBlock,
        description: 'VPN users reach the private subnet of the load balancer',
      });
    }

    this.serviceSecurityGroup = new ec2.SecurityGroup(this, 'ServiceSecurityGroup', {
      vpc,
      description: 'Vitals tasks: the load balancer only',
      // The subnets have no route out: the tasks reach the VPC endpoints and Loki, nothing else.
      allowAllOutbound: true,
    });
    this.endpointSecurityGroup.addIngressRule(this.serviceSecurityGroup, ec2.Port.tcp(443), 'AWS APIs for the Vitals tasks');
    this.serviceSecurityGroup.addIngressRule(
      this.loadBalancerSecurityGroup,
      ec2.Port.tcp(PUBLIC_PORT),
      'Vitals from its load balancer',
    );
    this.loadBalancerSecurityGroup.addEgressRule(
      this.serviceSecurityGroup,
      ec2.Port.tcp(PUBLIC_PORT),
      'to the Vitals tasks',
    );

    // ---- load balancer -----------------------------------------------------------------------
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // Load balancer access logs accept SSE-S3 only.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(400), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(accessLogs, [
      { id: 'AwsSolutions-S1', reason: 'this is the bucket access logs are written to; logging it into itself would loop' },
      { id: 'HIPAA.Security-S3BucketLoggingEnabled', reason: 'this is the bucket access logs are written to' },
      {
        id: 'HIPAA.Security-S3DefaultEncryptionKMS',
        reason: 'load balancer access logs can only be delivered to buckets encrypted with SSE-S3',
      },
      {
        id: 'HIPAA.Security-S3BucketReplicationEnabled',
        reason: "access logs are kept in one region with versioning; a replica bucket is the platform's choice",
      },
    ]);

    const loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: false,
      vpcSubnets: privateSubnets,
      securityGroup: this.loadBalancerSecurityGroup,
      deletionProtection: true,
      dropInvalidHeaderFields: true,
    });
    loadBalancer.logAccessLogs(accessLogs, 'alb');
    const listener = loadBalancer.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      sslPolicy: elbv2.SslPolicy.TLS13_RES,
      certificates: [elbv2.ListenerCertificate.fromArn(listenerCertificateArn.valueAsString)],
      open: false,
    });

    // ---- identity ----------------------------------------------------------------------------
    const userPool = new cognito.UserPool(this, 'Users', {
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      passwordPolicy: {
        minLength: 14,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      // Everyone logs in with an authenticator app; one without adds it at their next login (MFA_SETUP).
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.NONE,
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const group of ROLE_GROUPS) {
      new cognito.CfnUserPoolGroup(this, `Group${group}`, {
        userPoolId: userPool.userPoolId,
        groupName: group,
        description: `Vitals role ${group}`,
      });
    }
    const appClient = userPool.addClient('Vitals', {
      generateSecret: true,
      authFlows: { userPassword: true },
      enableTokenRevocation: true,
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.minutes(15),
      idTokenValidity: Duration.minutes(15),
      refreshTokenValidity: Duration.hours(12),
    });
    // The app client's secret, copied where ECS can inject it; Cognito keeps it, so it cannot rotate here.
    const clientSecret = new secretsmanager.Secret(this, 'CognitoClientSecret', {
      description: 'Vitals: the Cognito app client secret (VITALS_COGNITO_CLIENT_SECRET)',
      secretStringValue: appClient.userPoolClientSecret,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const copier = this.node.tryFindChild(AWS_CUSTOM_RESOURCE_FUNCTION);
    if (copier) {
      NagSuppressions.addResourceSuppressions(
        copier,
        [
          {
            id: 'AwsSolutions-L1',
            reason: "aws-cdk-lib's own function for reading the app client once at deploy; its runtime moves with aws-cdk-lib",
          },
          {
            id: 'AwsSolutions-IAM4',
            reason: 'the deploy-time function writes its own logs with AWSLambdaBasicExecutionRole, as aws-cdk-lib builds it',
            appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
          },
          { id: 'HIPAA.Security-LambdaConcurrency', reason: 'runs once per deployment, called by CloudFormation only' },
          { id: 'HIPAA.Security-LambdaDLQ', reason: 'CloudFormation receives and reports its failure; there is no event to keep' },
          {
            id: 'HIPAA.Security-LambdaInsideVPC',
            reason: "it calls Cognito's control plane at deploy time, outside the VPC that has no route out; it touches no patient data",
          },
        ],
        true,
      );
    }
    NagSuppressions.addResourceSuppressions(
      appClient,
      [
        {
          id: 'HIPAA.Security-IAMNoInlinePolicy',
          reason: 'the deploy-time read of this one app client (cognito-idp:DescribeUserPoolClient on the pool), written by aws-cdk-lib',
        },
      ],
      true,
    );
    // The server's sealing key: base64 of 32 random bytes, put in by the platform engineer (deploy/README.md).
    const tokenKey = new secretsmanager.Secret(this, 'SessionTokenKey', {
      description: 'Vitals: the session token key, base64 of 32 random bytes (VITALS_SESSION_TOKEN_KEY)',
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(
      [clientSecret, tokenKey],
      [
        {
          id: 'AwsSolutions-SMG4',
          reason:
            "the client secret is Cognito's and changes only with the app client; a new token key ends every session, so it is replaced by hand (deploy/README.md)",
        },
        { id: 'HIPAA.Security-SecretsManagerRotationEnabled', reason: 'as AwsSolutions-SMG4: rotated by hand, see deploy/README.md' },
      ],
    );

    // ---- storage -----------------------------------------------------------------------------
    const tables = STORE_TABLES.map(
      (spec) =>
        [
          spec,
          new dynamodb.Table(this, `${spec.store[0].toUpperCase()}${spec.store.slice(1)}Table`, {
            partitionKey: { name: spec.partitionKey, type: dynamodb.AttributeType.STRING },
            sortKey: spec.sortKey ? { name: spec.sortKey, type: dynamodb.AttributeType.STRING } : undefined,
            timeToLiveAttribute: spec.ttl,
            billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryptionKey: key,
            pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
            deletionProtection: true,
            removalPolicy: RemovalPolicy.RETAIN,
          }),
        ] as const,
    );
    this.backups = backup.BackupPlan.daily35DayRetention(this, 'Backups');
    this.backups.addSelection('Tables', {
      resources: tables.map(([, table]) => backup.BackupResource.fromDynamoDbTable(table)),
    });

    const workspace = new aps.CfnWorkspace(this, 'Metrics', { alias: 'vitals', kmsKeyArn: key.keyArn });
    const workspaceArn = workspace.attrArn;

    const repository = new ecr.Repository(this, 'Images', {
      imageScanOnPush: true,
      imageTagMutability: ecr.TagMutability.MUTABLE,
      encryption: ecr.RepositoryEncryption.KMS,
      encryptionKey: key,
      lifecycleRules: [{ maxImageCount: 50 }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new ecr.CfnPullThroughCacheRule(this, 'EcrPublicCache', {
      ecrRepositoryPrefix: ECR_PUBLIC_PREFIX,
      upstreamRegistryUrl: 'public.ecr.aws',
    });

    // ---- the task's role: exactly what the server's code calls, and what the collector writes ----
    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Vitals task: the reads of the server and the writes of the collector, nothing else',
    });
    this.serverPolicy = new iam.ManagedPolicy(this, 'ServerCalls', {
      description: 'Vitals server: exactly the AWS calls its code makes with the task role',
      statements: [
        new iam.PolicyStatement({ sid: 'XRayReads', actions: XRAY_READS, resources: ['*'] }),
        new iam.PolicyStatement({ sid: 'AmpReads', actions: AMP_READS, resources: [workspaceArn] }),
        ...tables.map(
          ([spec, table]) =>
            new iam.PolicyStatement({
              sid: `Table${spec.store}`,
              actions: spec.actions,
              resources: [table.tableArn],
            }),
        ),
        new iam.PolicyStatement({
          sid: 'TableKey',
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${this.region}.amazonaws.com` } },
        }),
      ],
    });
    this.collectorPolicy = new iam.ManagedPolicy(this, 'CollectorWrites', {
      description: 'Vitals ADOT collector: its trace and metric writes',
      statements: [
        new iam.PolicyStatement({ sid: 'XRayWrites', actions: COLLECTOR_XRAY_WRITES, resources: ['*'] }),
        new iam.PolicyStatement({ sid: 'AmpWrites', actions: COLLECTOR_AMP_WRITES, resources: [workspaceArn] }),
      ],
    });
    this.taskRole.addManagedPolicy(this.serverPolicy);
    this.taskRole.addManagedPolicy(this.collectorPolicy);
    NagSuppressions.addResourceSuppressions(
      [this.serverPolicy, this.collectorPolicy],
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: "X-Ray's trace reads and segment writes have no resource ARNs to name: IAM accepts only \"*\" for them",
          appliesTo: ['Resource::*'],
        },
      ],
    );

    // ---- the service -------------------------------------------------------------------------
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: "Vitals task execution: pull images, write the sidecars' logs, read the secrets",
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: 1024,
      memoryLimitMiB: 2048,
      taskRole: this.taskRole,
      executionRole,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const throughCache = (name: string, image: { repository: string; tag: string }) => {
      const cached = ecr.Repository.fromRepositoryName(this, `${name}Repository`, `${ECR_PUBLIC_PREFIX}/${image.repository}`);
      // The first pull of a tag makes ECR fetch it from ECR Public into the cache.
      executionRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['ecr:BatchImportUpstreamImage', 'ecr:CreateRepository'],
          resources: [cached.repositoryArn],
        }),
      );
      return ecs.ContainerImage.fromEcrRepository(cached, image.tag);
    };

    const logRouter = this.taskDefinition.addFirelensLogRouter('log-router', {
      image: throughCache('LogRouter', LOG_ROUTER_IMAGE),
      essential: true,
      firelensConfig: { type: ecs.FirelensLogRouterType.FLUENTBIT, options: { enableECSLogMetadata: true } },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'log-router', logGroup: logGroup('LogRouter') }),
      memoryReservationMiB: 64,
      readonlyRootFilesystem: true,
      user: '0',
    });
    NagSuppressions.addResourceSuppressions(this.taskDefinition, [
      {
        id: 'AwsSolutions-ECS2',
        reason: 'the variables are addresses, names and flags; the two secrets come from Secrets Manager',
      },
    ]);

    const collector = this.taskDefinition.addContainer('collector', {
      image: throughCache('Collector', COLLECTOR_IMAGE),
      essential: false,
      command: ['--config=env:AOT_CONFIG_CONTENT'],
      environment: {
        AOT_CONFIG_CONTENT: collectorConfig(this.region, Fn.join('', [workspace.attrPrometheusEndpoint, 'api/v1/remote_write'])),
      },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'collector', logGroup: logGroup('Collector') }),
      memoryReservationMiB: 128,
      readonlyRootFilesystem: true,
      user: IMAGE_USER,
      healthCheck: { command: ['CMD', '/healthcheck'], interval: Duration.seconds(30), startPeriod: Duration.seconds(15) },
    });

    const hasTenant = new CfnCondition(this, 'HasLokiTenant', { expression: Fn.conditionNot(Fn.conditionEquals(lokiTenant, '')) });
    const lokiHostPort = Fn.select(1, Fn.split('://', lokiUrl.valueAsString));
    const lokiHttps = new CfnCondition(this, 'LokiIsHttps', {
      expression: Fn.conditionEquals(Fn.select(0, Fn.split('://', lokiUrl.valueAsString)), 'https'),
    });
    const vitals = this.taskDefinition.addContainer('vitals', {
      image: ecs.ContainerImage.fromEcrRepository(repository, imageTag.valueAsString),
      essential: true,
      readonlyRootFilesystem: true,
      user: IMAGE_USER,
      portMappings: [{ containerPort: PUBLIC_PORT, name: 'http' }],
      environment: {
        VITALS_LISTEN: `0.0.0.0:${PUBLIC_PORT}`,
        // Only the collector beside it scrapes /metrics.
        VITALS_ADMIN_LISTEN: `127.0.0.1:${ADMIN_PORT}`,
        VITALS_DATA_DIR: '/data',
        VITALS_LOG_FORMAT: 'json',
        VITALS_TRUST_FORWARDED_FOR: 'true',
        AWS_REGION: this.region,
        VITALS_COGNITO_USER_POOL_ID: userPool.userPoolId,
        VITALS_COGNITO_CLIENT_ID: appClient.userPoolClientId,
        VITALS_PROMETHEUS_URL: workspace.attrPrometheusEndpoint,
        VITALS_AMP_REGION: this.region,
        VITALS_XRAY_REGION: this.region,
        VITALS_LOKI_URL: lokiUrl.valueAsString,
        VITALS_LOKI_TENANT: lokiTenant.valueAsString,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4317',
        OTEL_SERVICE_NAME: 'vitals',
        ...Object.fromEntries(tables.map(([spec, table]) => [spec.variable, table.tableName])),
      },
      secrets: {
        VITALS_COGNITO_CLIENT_SECRET: ecs.Secret.fromSecretsManager(clientSecret),
        VITALS_SESSION_TOKEN_KEY: ecs.Secret.fromSecretsManager(tokenKey),
      },
      logging: ecs.LogDrivers.firelens({
        options: {
          Name: 'loki',
          host: Fn.select(0, Fn.split(':', lokiHostPort)),
          port: Fn.select(1, Fn.split(':', lokiHostPort)),
          tls: Fn.conditionIf(lokiHttps.logicalId, 'on', 'off').toString(),
          tenant_id: Fn.conditionIf(hasTenant.logicalId, lokiTenant.valueAsString, Aws.NO_VALUE).toString(),
          labels: 'service=vitals',
          line_format: 'json',
        },
      }),
      healthCheck: {
        command: ['CMD', '/vitals-server', '--health'],
        interval: Duration.seconds(15),
        startPeriod: Duration.seconds(20),
      },
    });
    // The image's /data is its one writable place; a task volume keeps it writable under a read-only root.
    this.taskDefinition.addVolume({ name: 'data' });
    vitals.addMountPoints({ sourceVolume: 'data', containerPath: '/data', readOnly: false });
    vitals.addContainerDependencies(
      { container: logRouter, condition: ecs.ContainerDependencyCondition.START },
      { container: collector, condition: ecs.ContainerDependencyCondition.START },
    );

    const service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: desiredCount.valueAsNumber,
      vpcSubnets: privateSubnets,
      securityGroups: [this.serviceSecurityGroup],
      assignPublicIp: false,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
    });
    listener.addTargets('Vitals', {
      port: PUBLIC_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [service.loadBalancerTarget({ containerName: 'vitals', containerPort: PUBLIC_PORT })],
      healthCheck: { path: '/healthz', healthyHttpCodes: '200', interval: Duration.seconds(15) },
      deregistrationDelay: Duration.seconds(30),
    });

    if (props.loki) {
      cluster.addDefaultCloudMapNamespace({ name: 'vitals.internal', vpc });
      new LokiService(this, 'Loki', {
        cluster,
        vpc,
        key,
        logGroup: logGroup('Loki'),
        clients: this.serviceSecurityGroup,
        image: throughCache('Loki', LOKI_IMAGE),
        shellImage: throughCache('Shell', SHELL_IMAGE),
        executionRole,
        accessLogs,
        endpoints: this.endpointSecurityGroup,
        backups: this.backups,
      });
    }

    // ---- CI: GitHub's OIDC tokens for the repository's branch push images and roll the service ----
    const createOidc = new CfnCondition(this, 'CreateGitHubOidcProvider', {
      expression: Fn.conditionEquals(githubOidcProviderArn, ''),
    });
    const oidc = new iam.CfnOIDCProvider(this, 'GitHubOidc', {
      url: 'https://token.actions.githubusercontent.com',
      clientIdList: ['sts.amazonaws.com'],
    });
    oidc.cfnOptions.condition = createOidc;
    const providerArn = Fn.conditionIf(createOidc.logicalId, oidc.attrArn, githubOidcProviderArn.valueAsString).toString();
    const ciRole = new iam.Role(this, 'CiRole', {
      description: 'CI of the Vitals repository: push images, roll the service',
      assumedBy: new iam.WebIdentityPrincipal(providerArn, {
        StringEquals: {
          'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
          'token.actions.githubusercontent.com:sub': Fn.join('', [
            'repo:',
            githubRepository.valueAsString,
            ':ref:refs/heads/',
            githubBranch.valueAsString,
          ]),
        },
      }),
      maxSessionDuration: Duration.hours(1),
    });
    repository.grantPullPush(ciRole);
    ciRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
        resources: [service.serviceArn],
      }),
    );
    NagSuppressions.addResourceSuppressions(
      ciRole,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: 'ecr:GetAuthorizationToken has no resource ARN; IAM accepts only "*" for it',
          appliesTo: ['Resource::*'],
        },
        {
          id: 'HIPAA.Security-IAMNoInlinePolicy',
          reason: "the CI role's own pushes to its repository and the roll of its service, each on its resource",
        },
      ],
      true,
    );

    // After every grant and backup selection, so the suppressions reach what they wrote.
    NagSuppressions.addResourceSuppressions(
      this.backups,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason: 'AWSBackupServiceRolePolicyForBackup is the policy AWS Backup documents for its backup jobs',
          appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup'],
        },
      ],
      true,
    );
    NagSuppressions.addResourceSuppressions(
      executionRole,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: 'ecr:GetAuthorizationToken, which every image pull needs, has no resource ARN; IAM accepts only "*" for it',
          appliesTo: ['Resource::*'],
        },
        {
          id: 'HIPAA.Security-IAMNoInlinePolicy',
          reason: 'aws-cdk-lib writes the pulls, log writes and secret reads of this role alone into its own policy, each on its resource',
        },
      ],
      true,
    );
    new CfnOutput(this, 'LoadBalancerDnsName', { value: loadBalancer.loadBalancerDnsName });
    new CfnOutput(this, 'ClientVpnEndpointId', { value: vpn.endpointId });
    new CfnOutput(this, 'UserPoolId', { value: userPool.userPoolId });
    new CfnOutput(this, 'RepositoryUri', { value: repository.repositoryUri });
    new CfnOutput(this, 'SessionTokenKeySecret', { value: tokenKey.secretArn });
    new CfnOutput(this, 'CiRoleArn', { value: ciRole.roleArn });
    new CfnOutput(this, 'TasksSecurityGroupId', {
      value: this.serviceSecurityGroup.securityGroupId,
      description: 'The Vitals tasks\' group: an existing Loki admits it on its port',
    });
    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
    new CfnOutput(this, 'ServiceName', { value: service.serviceName });
  }
}
