// The stack as a hospital's reviewer reads it: cdk-nag clean, who may reach what, TLS, and the task's containers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ADMIN_PORT, IMAGE_USER, PUBLIC_PORT, ROLE_GROUPS, STORE_TABLES } from '../lib/server-access.ts';
import { getAtt, onlyId, synth, type Synthesized } from './synth.ts';

const groupId = (s: Synthesized, group: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(group.node.defaultChild as any);

/** Every ingress rule of a security group, inline or as its own resource. */
function ingressOf(s: Synthesized, id: string) {
  const inline = (s.resources[id].Properties!.SecurityGroupIngress ?? []) as Record<string, unknown>[];
  const separate = Object.values(s.resources)
    .filter((resource) => resource.Type === 'AWS::EC2::SecurityGroupIngress')
    .map((resource) => resource.Properties!)
    .filter((rule) => JSON.stringify(rule.GroupId) === JSON.stringify(getAtt(id, 'GroupId')));
  return [...inline, ...separate];
}

function containers(s: Synthesized) {
  const id = onlyId(s, 'AWS::ECS::TaskDefinition', (p) => p.ContainerDefinitions.some((c: { Name: string }) => c.Name === 'vitals'));
  const definitions = s.resources[id].Properties!.ContainerDefinitions as Record<string, any>[];
  return Object.fromEntries(definitions.map((c) => [c.Name, c]));
}

describe('cdk-nag', () => {
  for (const loki of [false, true]) {
    it(`finds nothing unsuppressed with the AwsSolutions and HIPAA Security packs${loki ? ', Loki on ECS included' : ''}`, () => {
      assert.deepEqual(synth(loki).nagFindings, []);
    });
  }

  it('every suppression gives its reason', () => {
    const s = synth(true);
    const reasons = Object.values(s.resources).flatMap((resource: any) => resource.Metadata?.cdk_nag?.rules_to_suppress ?? []);
    assert.ok(reasons.length > 0);
    for (const rule of reasons) assert.ok(rule.reason && rule.reason.length >= 20, `${rule.id} needs a reason`);
  });
});

describe('who reaches what', () => {
  it('only the Client VPN reaches the load balancer, on 443', () => {
    const s = synth();
    const balancer = groupId(s, s.stack.loadBalancerSecurityGroup);
    const vpn = groupId(s, s.stack.vpnSecurityGroup);
    const rules = ingressOf(s, balancer);
    assert.equal(rules.length, 1, JSON.stringify(rules));
    assert.deepEqual(
      { from: rules[0].FromPort, to: rules[0].ToPort, protocol: rules[0].IpProtocol, source: rules[0].SourceSecurityGroupId },
      { from: 443, to: 443, protocol: 'tcp', source: getAtt(vpn, 'GroupId') },
    );
    // The VPN's group is the Client VPN endpoint's alone, whose client range is the VpnClientCidr parameter.
    const endpoint = s.resources[onlyId(s, 'AWS::EC2::ClientVpnEndpoint')].Properties!;
    assert.deepEqual(endpoint.SecurityGroupIds, [getAtt(vpn, 'GroupId')]);
    assert.deepEqual(endpoint.ClientCidrBlock, { Ref: 'VpnClientCidr' });
    const users = Object.entries(s.resources).filter(([id, resource]) =>
      id !== vpn && JSON.stringify(resource.Properties ?? {}).includes(`"${vpn}"`),
    );
    assert.deepEqual(
      users.map(([, resource]) => resource.Type).sort(),
      ['AWS::EC2::ClientVpnEndpoint', 'AWS::EC2::SecurityGroupEgress', 'AWS::EC2::SecurityGroupIngress'],
    );
    assert.equal(ingressOf(s, vpn).length, 0, 'nothing connects into the VPN group');
  });

  it('the load balancer is internal, and its one listener is HTTPS with a TLS 1.2+ forward-secret policy', () => {
    const s = synth();
    const balancer = s.resources[onlyId(s, 'AWS::ElasticLoadBalancingV2::LoadBalancer')].Properties!;
    assert.equal(balancer.Scheme, 'internal');
    const listener = s.resources[onlyId(s, 'AWS::ElasticLoadBalancingV2::Listener')].Properties!;
    assert.equal(listener.Protocol, 'HTTPS');
    assert.equal(listener.Port, 443);
    assert.equal(listener.SslPolicy, 'ELBSecurityPolicy-TLS13-1-2-Res-2021-06');
    assert.deepEqual(listener.Certificates, [{ CertificateArn: { Ref: 'ListenerCertificateArn' } }]);
    const attributes = Object.fromEntries(
      balancer.LoadBalancerAttributes.map((a: { Key: string; Value: string }) => [a.Key, a.Value]),
    );
    assert.equal(attributes['access_logs.s3.enabled'], 'true');
    assert.equal(attributes['routing.http.drop_invalid_header_fields.enabled'], 'true');
  });

  it('the tasks accept traffic from the load balancer only, on the public port, and are checked on /healthz', () => {
    const s = synth();
    const tasks = groupId(s, s.stack.serviceSecurityGroup);
    const rules = ingressOf(s, tasks);
    assert.equal(rules.length, 1, JSON.stringify(rules));
    assert.deepEqual(
      { from: rules[0].FromPort, to: rules[0].ToPort, source: rules[0].SourceSecurityGroupId },
      { from: PUBLIC_PORT, to: PUBLIC_PORT, source: getAtt(groupId(s, s.stack.loadBalancerSecurityGroup), 'GroupId') },
    );
    const service = s.resources[onlyId(s, 'AWS::ECS::Service')].Properties!;
    assert.deepEqual(service.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups, [getAtt(tasks, 'GroupId')]);
    assert.equal(service.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp, 'DISABLED');
    const target = s.resources[onlyId(s, 'AWS::ElasticLoadBalancingV2::TargetGroup')].Properties!;
    assert.equal(target.HealthCheckPath, '/healthz');
    assert.equal(target.Port, PUBLIC_PORT);
  });

  it('the private subnets have no route out, and reach the AWS APIs through endpoints', () => {
    const s = synth();
    const routes = Object.values(s.resources).filter((resource) => resource.Type === 'AWS::EC2::Route');
    for (const route of routes) {
      assert.ok(JSON.stringify(route.Properties!.RouteTableId).includes('public'), 'only public subnets route to the internet');
    }
    const services = Object.values(s.resources)
      .filter((resource) => resource.Type === 'AWS::EC2::VPCEndpoint')
      .map((resource) => JSON.stringify(resource.Properties!.ServiceName));
    for (const api of ['xray', 'aps-workspaces', 'cognito-idp', 'dynamodb', 's3', 'ecr.api', 'ecr.dkr', 'logs', 'secretsmanager']) {
      assert.ok(services.some((name) => name.includes(`.${api}`)), `an endpoint for ${api}`);
    }
    assert.equal(Object.values(s.resources).filter((resource) => resource.Type === 'AWS::EC2::NatGateway').length, 0);
    assert.equal(Object.values(s.resources).filter((resource) => resource.Type === 'AWS::EC2::FlowLog').length, 1);
  });
});

describe('the task', () => {
  it('runs Vitals non-root on a read-only root filesystem, writing only its data volume', () => {
    const vitals = containers(synth()).vitals;
    assert.equal(vitals.ReadonlyRootFilesystem, true);
    assert.equal(vitals.User, IMAGE_USER);
    assert.deepEqual(vitals.MountPoints, [{ ContainerPath: '/data', ReadOnly: false, SourceVolume: 'data' }]);
    assert.deepEqual(vitals.HealthCheck.Command, ['CMD', '/vitals-server', '--health']);
  });

  it('takes its secrets from Secrets Manager, never from plain variables', () => {
    const vitals = containers(synth()).vitals;
    assert.deepEqual(vitals.Secrets.map((secret: { Name: string }) => secret.Name).sort(), [
      'VITALS_COGNITO_CLIENT_SECRET',
      'VITALS_SESSION_TOKEN_KEY',
    ]);
    for (const variable of vitals.Environment) assert.doesNotMatch(variable.Name, /SECRET|PASSWORD|TOKEN_KEY/);
  });

  it('exports traces to the ADOT collector sidecar on localhost:4317, which scrapes the admin port', () => {
    const { vitals, collector } = containers(synth());
    const environment = Object.fromEntries(vitals.Environment.map((v: { Name: string; Value: unknown }) => [v.Name, v.Value]));
    assert.equal(environment.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://localhost:4317');
    assert.equal(environment.VITALS_ADMIN_LISTEN, `127.0.0.1:${ADMIN_PORT}`);
    assert.ok(collector, 'a collector container');
    assert.match(JSON.stringify(collector.Image), /aws-otel-collector/);
    const config = JSON.stringify(collector.Environment);
    assert.match(config, /127\.0\.0\.1:4317/);
    assert.match(config, new RegExp(`127\\.0\\.0\\.1:${ADMIN_PORT}`));
    assert.equal(collector.ReadonlyRootFilesystem, true);
  });

  it('sends its logs through the FireLens log router to Loki', () => {
    const { vitals, 'log-router': router } = containers(synth());
    assert.ok(router, 'a log router container');
    assert.equal(router.FirelensConfiguration.Type, 'fluentbit');
    assert.equal(vitals.LogConfiguration.LogDriver, 'awsfirelens');
    assert.equal(vitals.LogConfiguration.Options.Name, 'loki');
    assert.ok(
      vitals.DependsOn.some((d: { ContainerName: string }) => d.ContainerName === 'log-router'),
      'Vitals starts after its log router',
    );
  });

  it('every container sends its own logs somewhere', () => {
    for (const [name, container] of Object.entries(containers(synth())) as [string, Record<string, unknown>][]) {
      assert.ok(container.LogConfiguration, `${name} has no log configuration`);
    }
  });
});

describe('identity and storage', () => {
  it('has the four Cognito groups and an app client with a secret, for password logins', () => {
    const s = synth();
    const groups = Object.values(s.resources)
      .filter((resource) => resource.Type === 'AWS::Cognito::UserPoolGroup')
      .map((resource) => resource.Properties!.GroupName)
      .sort();
    assert.deepEqual(groups, [...ROLE_GROUPS].sort());
    const client = s.resources[onlyId(s, 'AWS::Cognito::UserPoolClient')].Properties!;
    assert.equal(client.GenerateSecret, true);
    assert.ok(client.ExplicitAuthFlows.includes('ALLOW_USER_PASSWORD_AUTH'));
    assert.equal(client.EnableTokenRevocation, true);
  });

  it('requires MFA with an authenticator app (TOTP), never SMS', () => {
    const s = synth();
    const pool = s.resources[onlyId(s, 'AWS::Cognito::UserPool')].Properties!;
    assert.equal(pool.MfaConfiguration, 'ON');
    assert.deepEqual(pool.EnabledMfas, ['SOFTWARE_TOKEN_MFA']);
  });

  it('keeps every table encrypted with point-in-time recovery, sessions expiring by TTL', () => {
    const s = synth();
    for (const table of STORE_TABLES) {
      const properties = s.resources[onlyId(s, 'AWS::DynamoDB::Table', (p) => p.KeySchema[0].AttributeName === table.partitionKey)]
        .Properties!;
      assert.equal(properties.SSESpecification.SSEEnabled, true, table.store);
      assert.equal(properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, true, table.store);
      assert.deepEqual(properties.KeySchema.map((k: { AttributeName: string }) => k.AttributeName), [
        table.partitionKey,
        ...(table.sortKey ? [table.sortKey] : []),
      ]);
      if (table.ttl) assert.deepEqual(properties.TimeToLiveSpecification, { AttributeName: table.ttl, Enabled: true });
    }
  });

  it('scans images on push, and lets only the repository branch CI assume the CI role', () => {
    const s = synth();
    const repository = s.resources[onlyId(s, 'AWS::ECR::Repository')].Properties!;
    assert.deepEqual(repository.ImageScanningConfiguration, { ScanOnPush: true });
    const ciRole = Object.values(s.resources).find(
      (resource) =>
        resource.Type === 'AWS::IAM::Role' &&
        JSON.stringify(resource.Properties!.AssumeRolePolicyDocument).includes('sts:AssumeRoleWithWebIdentity'),
    );
    assert.ok(ciRole, 'a role GitHub assumes through OIDC');
    const trust = JSON.stringify(ciRole!.Properties!.AssumeRolePolicyDocument);
    assert.match(trust, /token\.actions\.githubusercontent\.com:aud/);
    assert.match(trust, /token\.actions\.githubusercontent\.com:sub/);
    assert.match(trust, /GitHubRepository/);
  });

  it('runs Loki on ECS on request, with S3 for its chunks and an EFS access point for its files', () => {
    const s = synth(true);
    const loki = Object.values(s.resources).find(
      (resource) =>
        resource.Type === 'AWS::ECS::TaskDefinition' &&
        resource.Properties!.ContainerDefinitions.some((c: { Name: string }) => c.Name === 'loki'),
    );
    assert.ok(loki, 'a Loki task');
    const volume = loki!.Properties!.Volumes.find((v: { EFSVolumeConfiguration?: unknown }) => v.EFSVolumeConfiguration);
    assert.equal(volume.EFSVolumeConfiguration.TransitEncryption, 'ENABLED');
    assert.ok(volume.EFSVolumeConfiguration.AuthorizationConfig.AccessPointId);
    const config = JSON.stringify(loki!.Properties!.ContainerDefinitions);
    assert.match(config, /object_store: s3/);
    assert.equal(Object.values(synth().resources).filter((resource) => resource.Type === 'AWS::EFS::FileSystem').length, 0);
  });
});
