import { type SecretRule } from "../SecretRule.js";
import { sampleToken } from "./sampleToken.js";
import { tokenRule } from "./tokenRule.js";

export const commerceRules: readonly SecretRule[] = [
  tokenRule({
    id: "stripe-access-token",
    description: "Stripe secret and restricted keys (sk_/rk_ live, test, prod)",
    keywords: ["sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_"],
    pattern: /(?<![A-Za-z0-9_])[rs]k_(?:live|test|prod)_[A-Za-z0-9]{10,247}(?![A-Za-z0-9])/y,
    minEntropy: 2,
    sample: `sk_live_${sampleToken(300, "alnum", 99)}`,
    found: [{ text: `restricted key rk_live_${sampleToken(301, "alnum", 24)} for reporting`, secret: `rk_live_${sampleToken(301, "alnum", 24)}` }],
  }),
  tokenRule({
    id: "square-access-token",
    description: "Square access token",
    keywords: ["sq0atp-", "EAAA"],
    pattern: /(?<![A-Za-z0-9_-])(?:EAAA|sq0atp-)[\w-]{22,60}(?![\w-])/y,
    minEntropy: 3,
    sample: `sq0atp-${sampleToken(302, "url", 22)}`,
  }),
  tokenRule({
    id: "shopify-access-token",
    description: "Shopify access, custom app, private app tokens and shared secret",
    keywords: ["shpat_", "shpca_", "shppa_", "shpss_"],
    pattern: /(?<![A-Za-z0-9_])shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9])/y,
    sample: `shpat_${sampleToken(303, "hex", 32)}`,
  }),
  tokenRule({
    id: "shippo-api-token",
    description: "Shippo API token",
    keywords: ["shippo_live_", "shippo_test_"],
    pattern: /(?<![A-Za-z0-9_])shippo_(?:live|test)_[a-fA-F0-9]{40}(?![A-Za-z0-9])/y,
    sample: `shippo_live_${sampleToken(304, "hex", 40)}`,
  }),
  tokenRule({
    id: "duffel-api-token",
    description: "Duffel API token",
    keywords: ["duffel_live_", "duffel_test_"],
    pattern: /duffel_(?:test|live)_[A-Za-z0-9_=-]{43}/y,
    sample: `duffel_live_${sampleToken(305, "url", 43)}`,
  }),
  tokenRule({
    id: "easypost-api-token",
    description: "EasyPost production and test API keys",
    keywords: ["EZAK", "EZTK"],
    pattern: /(?<![A-Za-z0-9])EZ[AT]K[A-Za-z0-9]{54}(?![A-Za-z0-9])/y,
    minEntropy: 3,
    sample: `EZAK${sampleToken(306, "alnum", 54)}`,
  }),
  tokenRule({
    id: "flutterwave-secret-key",
    description: "Flutterwave secret, public and encryption keys",
    keywords: ["FLWSECK_TEST-", "FLWPUBK_TEST-", "FLWSECK-"],
    pattern: /FLW(?:SECK|PUBK)(?:_TEST)?-(?:[a-h0-9]{32}-X|[a-h0-9]{12})(?![a-z0-9])/y,
    sample: `FLWSECK_TEST-${sampleToken(307, "hex", 32)}-X`,
  }),
  tokenRule({
    id: "facebook-page-access-token",
    description: "Facebook / Meta page and user access token",
    keywords: ["EAAM", "EAAC", "EAAG"],
    pattern: /(?<![A-Za-z0-9])EAA[MCG][A-Za-z0-9]{100,}(?![A-Za-z0-9])/y,
    minEntropy: 4,
    sample: `EAAG${sampleToken(308, "alnum", 140)}`,
  }),
  tokenRule({
    id: "adobe-client-secret",
    description: "Adobe OAuth client secret",
    keywords: ["p8e-"],
    pattern: /(?<![A-Za-z0-9_-])p8e-[A-Za-z0-9]{32}(?![A-Za-z0-9])/y,
    minEntropy: 2,
    sample: `p8e-${sampleToken(309, "alnum", 32)}`,
  }),
  tokenRule({
    id: "plaid-api-token",
    description: "Plaid access token (access-sandbox/development/production-uuid)",
    keywords: ["access-production-", "access-development-", "access-sandbox-"],
    pattern: /access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-f])/y,
    sample: `access-production-${sampleToken(310, "hex", 8)}-${sampleToken(311, "hex", 4)}-${sampleToken(312, "hex", 4)}-${sampleToken(313, "hex", 4)}-${sampleToken(314, "hex", 12)}`,
  }),
];
