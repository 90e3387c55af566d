/** What the layers above use of access control: the service, the principal and the scopes. */
export { AccessService, type AccessServiceOptions, type AuthMode, type NewApiKey } from './access-service.js';
export { OPEN_PRINCIPAL, actorOf, expiryOf, isOperator, type Credential, type Principal } from './principal.js';
export { SCOPES, grantedScopes, isScope, parseScopes, type Scope } from './scopes.js';
export type { JwtSettings } from './jwt-verifier.js';
export type { ApiKeyRecord } from '../store/records.js';
