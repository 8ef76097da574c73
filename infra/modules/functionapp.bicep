// Flex Consumption plan and the .NET 10 isolated function app, HTTPS only, running as the user-assigned identity with
// identity-based connections to storage, Cosmos DB, Azure OpenAI and Application Insights, and Key Vault references
// for keys. Every app setting is listed in routerSettings.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerUrl string
param applicationInsightsConnectionString string
param maximumInstanceCount int
param instanceMemoryMB int
param openAiEndpoint string
param cosmosEndpoint string
param cosmosDatabaseName string

@description('Router:Embeddings:Provider; the Cosmos DB module creates the cache container of the same provider\'s model.')
param embeddingProvider string
param blobServiceUri string
param queueServiceUri string
param tableServiceUri string
param auditQueueName string

@description('Versionless Key Vault URI of the admin key; the setting is left out when empty.')
param adminKeyUri string

@description('Versionless Key Vault URI of the OpenAI API key; the setting is left out when empty.')
param openAiApiKeyUri string

@description('Versionless Key Vault URI of the Groq API key; the setting is left out when empty.')
param groqApiKeyUri string

@description('NCRONTAB schedule of the timer that recomputes routing weights.')
param weightsSchedule string

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

func keyVaultReference(secretUri string) string => empty(secretUri) ? '' : '@Microsoft.KeyVault(SecretUri=${secretUri})'

// Every setting the app reads, by name (':' in a configuration key is '__' here). A contract test compares the
// Router__ names with the code's options. An empty value means "not configured" and the setting is left out, so an
// unset key never reaches the app as an unresolved Key Vault reference.
var routerSettings = {
  // Functions host storage, through the identity (shared keys are disabled).
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // The host's landing page at / would otherwise answer before the router's JSON 404 for unmatched requests.
  AzureWebJobsDisableHomepage: 'true'

  // Telemetry with Entra ID auth (local auth is disabled on Application Insights).
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'

  // Which managed identity the Azure SDK clients use.
  AZURE_CLIENT_ID: identityClientId

  Router__AdminKey: keyVaultReference(adminKeyUri)
  Router__Providers__azure__Type: 'AzureOpenAI'
  Router__Providers__azure__Endpoint: openAiEndpoint
  Router__Providers__openai__ApiKey: keyVaultReference(openAiApiKeyUri)
  Router__Providers__groq__ApiKey: keyVaultReference(groqApiKeyUri)
  Router__Storage__TableServiceUri: tableServiceUri
  Router__Storage__QueueServiceUri: queueServiceUri
  Router__Storage__BlobServiceUri: blobServiceUri
  Router__Cache__Cosmos__Endpoint: cosmosEndpoint
  Router__Cache__Cosmos__Database: cosmosDatabaseName
  Router__Embeddings__Provider: embeddingProvider
  Router__Audits__QueueName: auditQueueName
  Router__Weights__Schedule: weightsSchedule
}

var appSettings = map(filter(items(routerSettings), s => !empty(s.value)), s => {
  name: s.key
  value: s.value
})

resource functionApp 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'router'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the user-assigned identity, not a system-assigned one.
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: appSettings
    }
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
