// The app the platform team synthesizes and the tests check: the stack, with cdk-nag's rule packs on every synth.
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';

import { VitalsStack } from './vitals-stack.ts';

export interface VitalsApp {
  app: App;
  stack: VitalsStack;
}

/** The app with its one stack; `context` overrides cdk.json's (the tests turn the Loki option on). */
export function vitalsApp(context: Record<string, unknown> = {}): VitalsApp {
  const app = new App({
    // Access logs of the Loki bucket go to the load balancer's log bucket, whose owner owns every object.
    context: { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true, ...context },
  });
  const region = String(app.node.tryGetContext('vitals:region') ?? 'eu-west-1');
  const availabilityZones = (app.node.tryGetContext('vitals:availabilityZones') as string[] | undefined) ?? [
    `${region}a`,
    `${region}b`,
  ];
  const loki = [true, 'true'].includes(app.node.tryGetContext('vitals:loki'));
  // The account stays a token: synth needs no credentials, and one template serves every account.
  const stack = new VitalsStack(app, 'Vitals', {
    env: { region },
    availabilityZones,
    loki,
    description: 'Vitals, the observability portal: network, load balancer, ECS service, identity and storage',
  });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  Aspects.of(app).add(new HIPAASecurityChecks({ verbose: true }));
  return { app, stack };
}
