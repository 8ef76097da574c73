// Azure OpenAI account (Entra ID only) with the model deployments the router's default catalog calls.
import { openAiDeployment, principal } from 'types.bicep'

param name string
param location string
param tags object

@description('Model deployments to create, one at a time.')
param deployments openAiDeployment[]

@description('Capacity (thousands of tokens per minute) of a deployment that does not set its own.')
@minValue(1)
param defaultCapacity int

@description('Principals that get the Cognitive Services OpenAI User role.')
param principals principal[]

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: {
    name: 'S0'
  }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
    }
  }
}

// The service rejects concurrent deployment changes on one account, so they go one by one.
@batchSize(1)
resource modelDeployments 'Microsoft.CognitiveServices/accounts/deployments@2025-06-01' = [
  for d in deployments: {
    parent: account
    name: d.name
    sku: {
      name: d.sku
      capacity: d.?capacity ?? defaultCapacity
    }
    properties: {
      model: {
        format: 'OpenAI'
        name: d.model
        version: d.version
      }
      versionUpgradeOption: 'OnceCurrentVersionExpired'
    }
  }
]

// Cognitive Services OpenAI User: call deployments (chat completions, embeddings) with an Entra ID token.
var openAiUserRole = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'

resource openAiUsers 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for p in principals: {
    name: guid(account.id, p.id, openAiUserRole)
    scope: account
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', openAiUserRole)
      principalId: p.id
      principalType: p.type
    }
  }
]

output name string = account.name
output endpoint string = account.properties.endpoint
