import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import {
  AccountRecovery,
  CfnIdentityPool,
  CfnIdentityPoolRoleAttachment,
  CfnManagedLoginBranding,
  FeaturePlan,
  ManagedLoginVersion,
  Mfa,
  OAuthScope,
  UserPool,
  type UserPoolClient,
  UserPoolClientIdentityProvider,
  type UserPoolDomain,
} from "aws-cdk-lib/aws-cognito";
import { FederatedPrincipal, Role } from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";

/** The operators' user pool and its managed login's domain. */
export interface OperatorPool {
  readonly userPool: UserPool;
  readonly domain: UserPoolDomain;
}

/** How operators sign in to the console and get credentials for the API. */
export interface OperatorSignIn {
  readonly client: UserPoolClient;
  readonly identityPool: CfnIdentityPool;
  readonly operatorRole: Role;
}

/**
 * The operators' user pool (`Operators` in `scope`: admin-created, MFA required) and its managed login on
 * `<domainPrefix>.auth.<region>.amazoncognito.com`.
 */
export function createOperatorPool(scope: Construct, domainPrefix: string): OperatorPool {
  const userPool = new UserPool(scope, "Operators", {
    // Operators are created by an administrator (admin-create-user), never by themselves.
    selfSignUpEnabled: false,
    signInAliases: { email: true },
    signInCaseSensitive: false,
    autoVerify: { email: true },
    standardAttributes: { email: { required: true, mutable: true } },
    // They edit other people's messages: a password alone is not enough. TOTP (an authenticator app)
    // only: SMS costs per message and needs an SNS role; the managed login enrols it at first sign-in.
    mfa: Mfa.REQUIRED,
    mfaSecondFactor: { otp: true, sms: false },
    passwordPolicy: {
      minLength: 12,
      requireLowercase: true,
      requireUppercase: true,
      requireDigits: true,
      requireSymbols: true,
      tempPasswordValidity: Duration.days(3),
    },
    accountRecovery: AccountRecovery.EMAIL_ONLY,
    // Without the console's URL: the distribution's CSP names this pool's domain, so the pool cannot name it.
    userInvitation: {
      emailSubject: "Your im-edit operator account",
      emailBody:
        "You are an operator of the im-edit console. Sign in with {username} and the temporary password " +
        "{####} within 3 days: you will choose your own password and set up an authenticator app. Your " +
        "administrator gives you the console's address.",
    },
    // Essentials: the managed login; free up to 10,000 monthly active users.
    featurePlan: FeaturePlan.ESSENTIALS,
    // An operator's sub is the actor of their edits: keep the pool (and the subs) if the stack goes.
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(userPool).acknowledge({
    id: "AwsSolutions-COG3",
    reason:
      "Threat protection (advanced security) needs the Plus feature plan, billed for every monthly active " +
      "user with no free tier. Operators are few, created by an administrator, and sign in with a strong " +
      "password and a required authenticator app (TOTP).",
  });
  Validations.of(userPool).acknowledge({
    id: "AwsSolutions-COG8",
    reason:
      "The Plus feature plan (threat protection) is billed for every monthly active user with no free tier; " +
      "Essentials has what the console needs (managed login, MFA) and is free up to 10,000 of them.",
  });

  const domain = userPool.addDomain("SignIn", {
    cognitoDomain: { domainPrefix },
    managedLoginVersion: ManagedLoginVersion.NEWER_MANAGED_LOGIN,
  });
  return { userPool, domain };
}

/**
 * The console's client of `userPool` (authorization code + PKCE, back to `url`), and the identity pool
 * exchanging its ID tokens for the operator role's credentials (an hour), all in `scope`.
 */
export function createOperatorSignIn(scope: Construct, userPool: UserPool, url: string): OperatorSignIn {
  const client = userPool.addClient("Console", {
    // A browser app: public client, no secret; the console sends a PKCE challenge with every sign-in.
    generateSecret: false,
    authFlows: { userSrp: true },
    oAuth: {
      flows: { authorizationCodeGrant: true },
      scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
      callbackUrls: [url],
      logoutUrls: [url],
    },
    supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
    preventUserExistenceErrors: true,
    enableTokenRevocation: true,
    idTokenValidity: Duration.hours(1),
    accessTokenValidity: Duration.hours(1),
    // A working day at most; the console keeps tokens in memory (or the tab's session storage) only.
    refreshTokenValidity: Duration.hours(12),
  });
  // The newer managed login needs a style per client; Cognito's own.
  new CfnManagedLoginBranding(scope, "SignInBranding", {
    userPoolId: userPool.userPoolId,
    clientId: client.userPoolClientId,
    useCognitoProvidedValues: true,
  });

  // Signed-in operators only: no unauthenticated identities, no unauthenticated role; the enhanced flow
  // (GetCredentialsForIdentity) only, and Cognito checks each ID token is still valid (not signed out).
  const identityPool = new CfnIdentityPool(scope, "Identities", {
    allowUnauthenticatedIdentities: false,
    allowClassicFlow: false,
    cognitoIdentityProviders: [
      {
        clientId: client.userPoolClientId,
        providerName: userPool.userPoolProviderName,
        serverSideTokenCheck: true,
      },
    ],
  });
  const operatorRole = new Role(scope, "OperatorRole", {
    description: "im-edit console operators (Cognito identity pool, authenticated): the /v1 API only",
    assumedBy: new FederatedPrincipal(
      "cognito-identity.amazonaws.com",
      {
        StringEquals: { "cognito-identity.amazonaws.com:aud": identityPool.ref },
        "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" },
      },
      "sts:AssumeRoleWithWebIdentity",
    ),
    maxSessionDuration: Duration.hours(1),
  });
  new CfnIdentityPoolRoleAttachment(scope, "IdentityRoles", {
    identityPoolId: identityPool.ref,
    roles: { authenticated: operatorRole.roleArn },
  });
  return { client, identityPool, operatorRole };
}
