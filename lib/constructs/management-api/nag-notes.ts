/**
 * Why the cdk-nag AwsSolutions findings on the management API are accepted: each note is
 * attached to the construct the finding is about.
 */
import { Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import { FUNCTION_RUNTIME, type WebhooksFunction } from '../../function-defaults';

/** The runtime finding (L1) on the API function and the authorizer. */
export function acknowledgeFunctionFindings(functions: readonly WebhooksFunction[]): void {
  for (const fn of functions) {
    Validations.of(fn.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: `${FUNCTION_RUNTIME.name} is a supported LTS runtime and the one the team tests against (the code also runs on Node 20 locally); moving to a newer runtime is a deliberate upgrade, not an automatic one.`,
    });
  }
}

export interface ApiNagTargets {
  readonly api: apigw.RestApi;
  /** `GET /v1/openapi.json`, the public method. */
  readonly openApiMethod: apigw.Method;
  /** `ANY /v1/{proxy+}`, behind the key authorizer. */
  readonly proxyMethod: apigw.Method;
  /** `POST /v1/portal-sessions`, IAM-authorized. */
  readonly portalSessionsMethod: apigw.Method;
  /** Whether a WAF web ACL is associated with the stage (then APIG3 needs no note). */
  readonly webAcl: boolean;
}

/** Request validation, the CloudWatch role, WAF (when no web ACL is associated), and authorization of the three methods. */
export function acknowledgeApiFindings({ api, openApiMethod, proxyMethod, portalSessionsMethod, webAcl }: ApiNagTargets): void {
  Validations.of(api).acknowledge({
    id: 'AwsSolutions-APIG2',
    reason:
      'Every route is a Lambda proxy integration: the API function validates bodies, parameters and sizes with the same zod schemas that generate GET /v1/openapi.json, ' +
      'and answers 400/413/415 in the API error shape. A request validator without models would validate nothing, and models would duplicate the schemas.',
  });
  Validations.of(api.node.findChild('CloudWatchRole')).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    reason:
      'The account-level role API Gateway writes execution logs with (AWS::ApiGateway::Account). AWS documents this service-role policy for exactly that purpose, ' +
      'only apigateway.amazonaws.com can assume the role, and the log group names are chosen by API Gateway, so no narrower policy can be written in advance.',
  });
  if (!webAcl) {
    Validations.of(api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'A WAF web ACL is an optional add-on of the deployment (it costs per ACL and per request; context apiWafAclArn associates one): the API is protected by API keys ' +
        '(malformed ones refused by API Gateway without invoking the authorizer), a per-account request rate, stage throttling and the function\'s own limits.',
    });
  }
  Validations.of(openApiMethod).acknowledge(
    {
      id: 'AwsSolutions-APIG4',
      reason: 'GET /v1/openapi.json is the public API description (docs/design.md §6: "no auth"); it holds no account data. Every other route uses the API key authorizer.',
    },
    {
      id: 'AwsSolutions-COG4',
      reason: 'GET /v1/openapi.json is the public API description (docs/design.md §6: "no auth"); it holds no account data and needs no user pool.',
    },
  );
  Validations.of(proxyMethod).acknowledge({
    id: 'AwsSolutions-COG4',
    reason:
      'The callers are customers\' servers and scripts with API keys (docs/design.md §6), not end users: a Lambda TOKEN authorizer maps the hashed key to its account. ' +
      'A Cognito user pool would add a second identity system for no caller.',
  });
  Validations.of(portalSessionsMethod).acknowledge({
    id: 'AwsSolutions-COG4',
    reason:
      "POST /v1/portal-sessions is called by the platform's backend with IAM credentials (SigV4, AuthorizationType.IAM), never by end users: " +
      'IAM is the identity system of that caller, and a Cognito user pool would add one it does not have.',
  });
}
