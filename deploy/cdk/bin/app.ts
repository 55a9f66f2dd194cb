// Synthesizes the Vitals stack, with the AwsSolutions and HIPAA Security checks of cdk-nag on it.
import { vitalsApp } from '../lib/app.ts';

vitalsApp().app.synth();
