#!/bin/sh
# azd preprovision hook: the Entra ID app registration that callers get tokens for, with the app roles the code checks
# (infra/app-roles.json), made here because Bicep can not make one without the Microsoft Graph extension. Creates the
# registration on the first `azd provision`, updates its roles on every later one, and hands its client id to
# infra/main.bicep through the azd environment (AGENTIC_AUTH_CLIENT_ID, AGENTIC_AUTH_TENANT_ID).
#
# Needs the Azure CLI signed in (`az login`) as someone who may create app registrations in the tenant. To use an
# existing registration instead, `azd env set AGENTIC_AUTH_CLIENT_ID <appId>` first: its roles are then updated.
#
# POSIX sh, not bash: azure.yaml runs it with `shell: sh`.
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
roles="$here/../app-roles.json"

fail() { printf 'preprovision: %s\n' "$*" >&2; exit 1; }

command -v az >/dev/null || fail "the Azure CLI (az) is required to register the app and its roles"
command -v azd >/dev/null || fail "azd is required (this script runs as its preprovision hook)"
[ -n "${AZURE_ENV_NAME:-}" ] || fail "AZURE_ENV_NAME is not set: run this through azd provision / azd up"
[ -f "$roles" ] || fail "$roles is missing"
az account show >/dev/null 2>&1 || fail "the Azure CLI is not signed in: run az login"

name="${AGENTIC_AUTH_APP_NAME:-agentic-$AZURE_ENV_NAME}"
app_id="${AGENTIC_AUTH_CLIENT_ID:-}"
if [ -z "$app_id" ]; then
  # A second provision of the same environment finds the registration the first one made.
  app_id="$(az ad app list --display-name "$name" --query '[0].appId' -o tsv)"
fi

if [ -z "$app_id" ]; then
  echo "preprovision: creating the app registration '$name' with the roles in infra/app-roles.json"
  app_id="$(az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg --app-roles "@$roles" --query appId -o tsv)"
  [ -n "$app_id" ] || fail "az ad app create returned no appId"
else
  # Role ids are fixed in app-roles.json, so this updates the roles in place; removing a role means disabling it first.
  echo "preprovision: updating the roles of the app registration $app_id"
  az ad app update --id "$app_id" --app-roles "@$roles"
fi

# v2.0 access tokens, whose audience is the client id and whose issuer is .../{tenant}/v2.0: what App Service
# authentication and Agentic__Auth__Jwt__* are set up for. The application ID URI lets clients ask for api://{appId}/.default.
az ad app update --id "$app_id" --identifier-uris "api://$app_id" --requested-access-token-version 2

# The service principal is what users and applications are assigned the roles on, and what tokens are issued for.
if [ -z "$(az ad sp list --filter "appId eq '$app_id'" --query '[0].id' -o tsv)" ]; then
  az ad sp create --id "$app_id" >/dev/null
fi

tenant_id="$(az account show --query tenantId -o tsv)"
azd env set AGENTIC_AUTH_CLIENT_ID "$app_id"
azd env set AGENTIC_AUTH_TENANT_ID "$tenant_id"
echo "preprovision: AGENTIC_AUTH_CLIENT_ID=$app_id (assign the requester, operator and admin roles on its enterprise application)"
