// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const sdkImports = [
  { group: ["@azure/*", "openai", "openai/*", "@opentelemetry/*", "rhea", "azurite", "azurite/*"], message: "src/core is pure: SDKs (OpenTelemetry included) belong in src/adapters." },
  { group: ["node:http", "node:https", "node:net", "node:tls", "node:dgram", "undici", "http", "https", "net"], message: "src/core does no I/O: the network belongs in src/adapters." },
  { group: ["node:fs", "node:fs/*", "fs", "fs/*", "node:child_process"], message: "src/core does no I/O: files belong in src/adapters or src/composition." },
  { group: ["../adapters/*", "../../adapters/*", "../composition/*", "../../composition/*"], message: "src/core never imports infrastructure." },
];

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "bin/**", "eslint.config.js", "infra/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    files: ["src/core/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: sdkImports }],
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "src/core reads no process.env: configuration is parsed in src/composition." },
        { object: "Date", property: "now", message: "src/core calls no clock: take a Clock port." },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "src/core calls no clock: take a Clock port." },
      ],
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts", "local/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/unbound-method": "off",
    },
  },
);
