// azd entry point for the Azure host (Functions/). Modelled on Azure-Samples/functions-quickstart-dotnet-azd,
// with the differences this product needs: queue and table endpoints on (Durable Functions, the agent-runs
// queue, the decision/approval/idempotency ledger), a Key Vault for tool secrets, App Insights without
// local auth so that every connection is identity-based, and App Service authentication (Entra ID) in front
// of every function.
//
// Local modules of plain resources rather than the quickstart's public registry modules: infra/ compiles
// with the Bicep CLI alone (tests/Agentic.Functions.Tests builds it in every test run, offline), and the
// compiled template shows every setting and role assignment for the tests to check.
//
// The Entra ID app registration (and its app roles, infra/app-roles.json) is not made here: Bicep needs the
// Microsoft Graph extension for that, fetched at compile time. The azd preprovision hook
// (infra/hooks/preprovision.sh) creates or updates it and sets AGENTIC_AUTH_CLIENT_ID for authClientId.
//
// No virtual network: the quickstart's optional VNet (app/vnet.bicep + private endpoints) is left out for
// now. Storage and Key Vault therefore keep public network access, guarded by Entra ID and RBAC only
// (shared keys are off). Add the VNet before running with production data.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds the resource token that makes names unique.')
param environmentName string

// Regions that offer Flex Consumption, as listed by Azure-Samples/durable-functions-quickstart-dotnet-azd.
@minLength(1)
@description('Primary location for all resources & Flex Consumption Function App')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'eastus2euap'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

// Name overrides, for organisations with naming policies; empty means abbreviation + resource token.
param apiServiceName string = ''
param apiUserAssignedIdentityName string = ''
param applicationInsightsName string = ''
param appServicePlanName string = ''
param logAnalyticsName string = ''
param resourceGroupName string = ''
param storageAccountName string = ''
param keyVaultName string = ''

// Same rule as AgenticStorageOptions.HubName (^[a-z][a-z0-9]{2,30}$); the host refuses to start otherwise.
@minLength(3)
@maxLength(31)
@description('Prefix of every Agentic table, queue and blob container (Agentic:HubName).')
param hubName string = 'agentic'

@description('Days each audit checkpoint blob is kept immutable (WORM: time-based retention with protected append writes). Audit outlives run state; the policy is created unlocked, so lock it (az storage container immutability-policy lock) once the period is agreed.')
@minValue(1)
@maxValue(146000)
param auditRetentionDays int = 2555

@description('Off for dev environments so that azd down --purge can free the vault name. Turn it on for production: once on, it can never be turned off.')
param keyVaultPurgeProtection bool = false

@description('Object id of whoever runs azd (azd sets AZURE_PRINCIPAL_ID). It gets data access to storage and may write Key Vault secrets, since with RBAC authorization nobody else can. Leave empty to grant nothing.')
param principalId string = ''

@description('Client id (appId) of the Entra ID app registration callers get tokens for; set by the preprovision hook (AGENTIC_AUTH_CLIENT_ID).')
@minLength(36)
@maxLength(36)
param authClientId string

@description('Tenant of that app registration; empty means the tenant of the subscription.')
param authTenantId string = ''

@description('User for a person at a terminal, ServicePrincipal when azd runs in CI.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var tenantId = !empty(authTenantId) ? authTenantId : tenant().tenantId
var functionAppName = !empty(apiServiceName) ? apiServiceName : '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentStorageContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'

// Names the code uses: RunTriggers.RunQueue, TableGovernanceStore ("{hub}ledger"), TableControlStore
// ("{hub}controls"), TableMcpPinStore ("{hub}mcppins"), TablePolicyStore ("{hub}policies"), TableAgentStore ("{hub}agents"),
// TableMonitorStore ("{hub}monitors"), TableAuditStore ("{hub}audit"), TableDriftStore ("{hub}drift") and BlobCheckpointStore
// ("{hub}-audit"). The Functions host creates the tables and containers at start too
// (StorageTablesService), but not the queues, and never the audit container's immutability policy.
var runQueueName = 'agent-runs'
var agenticQueueNames = [
  runQueueName
  '${runQueueName}-poison'
]
var agenticTableNames = [
  '${hubName}ledger'
  '${hubName}controls'
  '${hubName}mcppins'
  '${hubName}policies'
  '${hubName}agents'
  '${hubName}monitors'
  '${hubName}audit'
  '${hubName}drift'
]
var auditContainerName = '${hubName}-audit'

// Organize resources in a resource group
resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module apiIdentity './app/identity.bicep' = {
  name: 'apiIdentity'
  scope: rg
  params: {
    name: !empty(apiUserAssignedIdentityName) ? apiUserAssignedIdentityName : '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: !empty(appServicePlanName) ? appServicePlanName : '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.name
    runtimeName: 'dotnet-isolated'
    // The projects target net10.0 (Directory.Build.props). The quickstart pins '8.0'; Flex Consumption takes
    // '10.0' for dotnet-isolated (Azure-Samples/remote-mcp-functions-dotnet deploys it). If a region refuses it,
    // `az functionapp list-flexconsumption-runtimes --location <region> --runtime dotnet-isolated` lists what it takes.
    runtimeVersion: '10.0'
    storageAccountName: storage.outputs.name
    deploymentStorageContainerName: deploymentStorageContainerName
    identityId: apiIdentity.outputs.resourceId
    identityClientId: apiIdentity.outputs.clientId
    hubName: hubName
    keyVaultUri: keyVault.outputs.uri
    authTenantId: tenantId
    authClientId: authClientId
  }
}

// One account behind both connections (AzureWebJobsStorage and AgenticStorage), as on a dev box where both
// are Azurite: one set of role assignments, one place to look when a run is stuck. Blobs hold the Flex
// deployment package, Durable Functions leases and large messages; queues the Durable control and
// work-item queues and agent-runs; tables the Durable history and instances, the ledger, controls and policies.
module storage './app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    containerNames: [
      deploymentStorageContainerName
    ]
    wormContainerName: auditContainerName
    wormRetentionDays: auditRetentionDays
    queueNames: agenticQueueNames
    tableNames: agenticTableNames
  }
}

module keyVault './app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: !empty(keyVaultName) ? keyVaultName : '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    enablePurgeProtection: keyVaultPurgeProtection
  }
}

// Consolidated role assignments
module rbac './app/rbac.bicep' = {
  name: 'rbacAssignments'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.name
    keyVaultName: keyVault.outputs.name
    managedIdentityPrincipalId: apiIdentity.outputs.principalId
    userIdentityPrincipalId: principalId
    userIdentityPrincipalType: principalType
    allowUserIdentityPrincipal: !empty(principalId) // lets the deployer inspect runs and the ledger with their own identity
  }
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: !empty(logAnalyticsName) ? logAnalyticsName : '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: !empty(applicationInsightsName) ? applicationInsightsName : '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

// azd writes these into .azure/<env>/.env, where `azd env get-values` and scripts pick them up. azd itself
// reads AZURE_RESOURCE_GROUP; it finds the app by its azd-service-name tag, not by an output.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.SERVICE_API_NAME
output SERVICE_API_URI string = api.outputs.SERVICE_API_URI
output AZURE_FUNCTION_APP_NAME string = api.outputs.SERVICE_API_NAME
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = apiIdentity.outputs.clientId
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AGENTIC_HUB_NAME string = hubName
output AGENTIC_AUTH_CLIENT_ID string = authClientId
output AGENTIC_AUTH_TENANT_ID string = tenantId
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
