// The identity the Function App runs as. User-assigned rather than system-assigned: its client id is known before the
// app exists, and the app settings (AzureWebJobsStorage__clientId, AgenticStorage__clientId, Agentic__KeyVault__ClientId)
// must name it.

param name string
param location string = resourceGroup().location
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output resourceId string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
