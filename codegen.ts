import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed documents for every operation in client/documents, from the committed
// schema.graphql (`npx graphql-codegen`; a test fails when the output is stale).
const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["client/documents/**/*.graphql"],
  ignoreNoDocuments: false,
  generates: {
    "client/generated/": {
      preset: "client",
      config: {
        emitLegacyCommonJSImports: false,
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: "string", JSON: "unknown", ID: "string" },
      },
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: true,
      },
    },
  },
};

export default config;
