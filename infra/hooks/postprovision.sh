#!/bin/sh
# azd postprovision hook: the dashboard's sign-in and the audit signing key.
#
# The dashboard: the Function App serves it at /api/dashboard/ (the Dashboard function, Functions/DashboardTriggers.cs);
# people reach it through App Service authentication's browser sign-in (/.auth/login/aad), which needs the app's callback
# as a web redirect URI of the app registration and ID tokens issued to it. The app's host name is known only after
# provisioning, so this hook adds them.
#
# The audit signing key. Checkpoints of the audit trail are signed with an ECDSA P-256 key that
# the Function App reads from Key Vault (secret "audit-signing-key", see Agentic:Audit:SigningKeySecret). This makes one
# on the first `azd provision` and leaves it alone afterwards; the private key goes from openssl straight into Key Vault
# through a pipe and is never written to disk. The public key is printed (and served at GET /api/audit/keys): give it to
# whoever verifies the trail with `agentic audit verify --public-key`.
#
# Rotation: keep the old public key verifiable by adding it to Agentic__Audit__RetiredPublicKeys__N, then
# `az keyvault secret set` a new key under the same name.
#
# POSIX sh, not bash: azure.yaml runs it with `shell: sh`.
set -eu

fail() { printf 'postprovision: %s\n' "$*" >&2; exit 1; }

command -v az >/dev/null || fail "the Azure CLI (az) is required to register the dashboard's sign-in and store the audit signing key"
command -v openssl >/dev/null || fail "openssl is required to make the audit signing key"
[ -n "${AZURE_KEY_VAULT_NAME:-}" ] || fail "AZURE_KEY_VAULT_NAME is not set: run this through azd provision / azd up"

[ -n "${AGENTIC_AUTH_CLIENT_ID:-}" ] || fail "AGENTIC_AUTH_CLIENT_ID is not set: the preprovision hook sets it"
[ -n "${SERVICE_API_URI:-}" ] || fail "SERVICE_API_URI is not set: run this through azd provision / azd up"

callback="$SERVICE_API_URI/.auth/login/aad/callback"
echo "postprovision: the dashboard signs in through $callback"
az ad app update --id "$AGENTIC_AUTH_CLIENT_ID" --web-redirect-uris "$callback" --enable-id-token-issuance true \
  || fail "could not register the dashboard's sign-in callback on the app registration $AGENTIC_AUTH_CLIENT_ID"
echo "postprovision: open the dashboard at $SERVICE_API_URI/.auth/login/aad?post_login_redirect_uri=/api/dashboard/"

secret="${AGENTIC_AUDIT_SIGNING_KEY_SECRET:-audit-signing-key}"
if az keyvault secret show --vault-name "$AZURE_KEY_VAULT_NAME" --name "$secret" --query id -o tsv >/dev/null 2>&1; then
  echo "postprovision: the audit signing key '$secret' exists in $AZURE_KEY_VAULT_NAME; kept"
else
  echo "postprovision: making the audit signing key '$secret' in $AZURE_KEY_VAULT_NAME"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform PEM \
    | az keyvault secret set --vault-name "$AZURE_KEY_VAULT_NAME" --name "$secret" --file /dev/stdin --content-type application/x-pem-file --query id -o tsv >/dev/null \
    || fail "could not store the audit signing key"
fi
echo "postprovision: the public key that verifies the audit trail:"
az keyvault secret show --vault-name "$AZURE_KEY_VAULT_NAME" --name "$secret" --query value -o tsv | openssl pkey -pubout
