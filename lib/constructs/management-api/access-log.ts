import * as apigw from 'aws-cdk-lib/aws-apigateway';

/**
 * The stage's access log line: one JSON object per request, with the caller (the account the
 * key belongs to and the key's public id), the status and latencies of the request, the
 * integration and the authorizer, and API Gateway's own error type and message.
 */
export function accessLogFormat(): apigw.AccessLogFormat {
  return apigw.AccessLogFormat.custom(
    JSON.stringify({
      requestId: apigw.AccessLogField.contextRequestId(),
      extendedRequestId: apigw.AccessLogField.contextExtendedRequestId(),
      requestTime: apigw.AccessLogField.contextRequestTime(),
      ip: apigw.AccessLogField.contextIdentitySourceIp(),
      userAgent: apigw.AccessLogField.contextIdentityUserAgent(),
      // The account the key belongs to (the authorizer's principalId) and the key's public id.
      caller: apigw.AccessLogField.contextAuthorizerPrincipalId(),
      keyId: apigw.AccessLogField.contextAuthorizer('keyId'),
      httpMethod: apigw.AccessLogField.contextHttpMethod(),
      resourcePath: apigw.AccessLogField.contextResourcePath(),
      path: apigw.AccessLogField.contextPath(),
      protocol: apigw.AccessLogField.contextProtocol(),
      status: apigw.AccessLogField.contextStatus(),
      responseLength: apigw.AccessLogField.contextResponseLength(),
      responseLatency: apigw.AccessLogField.contextResponseLatency(),
      integrationStatus: apigw.AccessLogField.contextIntegrationStatus(),
      integrationLatency: apigw.AccessLogField.contextIntegrationLatency(),
      integrationError: apigw.AccessLogField.contextIntegrationErrorMessage(),
      authorizerStatus: apigw.AccessLogField.contextAuthorizerStatus(),
      authorizerLatency: apigw.AccessLogField.contextAuthorizerLatency(),
      authorizerError: apigw.AccessLogField.contextAuthorizerError(),
      errorType: apigw.AccessLogField.contextErrorResponseType(),
      errorMessage: apigw.AccessLogField.contextErrorMessage(),
    }),
  );
}
