// Key Vault (RBAC authorization) for the router's admin key and the keys of providers outside Azure. Each secret is
// created only when its value is given; the app reads them through Key Vault references, so outputs carry secret
// URIs, never values.
import { principal } from 'types.bicep'

param name string
param location string
param tags object

@description('Turn on purge protection. It cannot be turned off again, and `azd down --purge` cannot purge the vault.')
param enablePurgeProtection bool

@secure()
@description('Key for the router\'s /admin endpoints; no secret is created when empty.')
param adminKey string

@secure()
@description('OpenAI API key; no secret is created when empty.')
param openAiApiKey string

@secure()
@description('Groq API key; no secret is created when empty.')
param groqApiKey string

@description('Principals that read secrets (the app\'s identity).')
param secretReaders principal[]

@description('Principals that read and write secrets, for key rotation (the person who ran azd).')
param secretOfficers principal[]

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
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
    // A short retention lets a torn-down dev environment reuse its name; a protected vault keeps the full 90 days.
    softDeleteRetentionInDays: enablePurgeProtection ? 90 : 7
    // The service accepts only true or nothing here.
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource adminKeySecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = if (!empty(adminKey)) {
  parent: vault
  name: 'router-admin-key'
  properties: {
    value: adminKey
    contentType: 'text/plain'
  }
}

resource openAiApiKeySecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = if (!empty(openAiApiKey)) {
  parent: vault
  name: 'openai-api-key'
  properties: {
    value: openAiApiKey
    contentType: 'text/plain'
  }
}

resource groqApiKeySecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = if (!empty(groqApiKey)) {
  parent: vault
  name: 'groq-api-key'
  properties: {
    value: groqApiKey
    contentType: 'text/plain'
  }
}

// Key Vault Secrets User: read secret values (Key Vault references in app settings).
var secretsUserRole = '4633458b-17de-439c-b729-8d3d0f0fbbed'

// Key Vault Secrets Officer: create new secret versions when rotating keys.
var secretsOfficerRole = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

var assignments = concat(
  map(secretReaders, p => {
    principal: p
    role: secretsUserRole
  }),
  map(secretOfficers, p => {
    principal: p
    role: secretsOfficerRole
  })
)

resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in assignments: {
    name: guid(vault.id, a.principal.id, a.role)
    scope: vault
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
      principalId: a.principal.id
      principalType: a.principal.type
    }
  }
]

output name string = vault.name
output uri string = vault.properties.vaultUri

// Versionless URIs, so a reference follows the newest version; empty when the secret was not created.
output adminKeyUri string = adminKeySecret.?properties.secretUri ?? ''
output openAiApiKeyUri string = openAiApiKeySecret.?properties.secretUri ?? ''
output groqApiKeyUri string = groqApiKeySecret.?properties.secretUri ?? ''
