// A real OpenID Connect provider for the tests: panva's oidc-provider (OpenID Certified) on loopback.
// PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI and ACCOUNTS (JSON: login -> claims) come from the test.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.ACCOUNTS);

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
  findAccount: async (ctx, id) => (accounts[id]
    ? { accountId: id, claims: async () => ({ sub: id, ...accounts[id] }) }
    : undefined),
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['coachhub-test-only'] },
});
provider.listen(port, '127.0.0.1', () => { console.log(`READY ${issuer}`); });
