// Secrets for tools, injected at call time. RBAC authorization, so access is granted in rbac.bicep like every other
// data-plane permission, not through access policies.

param name string
param location string = resourceGroup().location
param tags object = {}

@description('Once on, it can never be turned off; off for dev environments so that azd down --purge can free the name.')
param enablePurgeProtection bool = false

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // ARM rejects false here: the property is either true or absent.
    enablePurgeProtection: enablePurgeProtection ? true : null
    // Nothing but the app reads these secrets; VMs, disk encryption and ARM templates have no business here.
    enabledForDeployment: false
    enabledForTemplateDeployment: false
    enabledForDiskEncryption: false
    publicNetworkAccess: 'Enabled' // no VNet yet, see the top of main.bicep
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
