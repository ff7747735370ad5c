/**
 * gitleaks' "keyword + assignment" rules: a vendor's name in a variable name (`ALGOLIA_ADMIN = ...`)
 * and a value of the vendor's alphabet and length. One entry per vendor; the assignment detector
 * reports the value when the name holds the vendor word and the value fits.
 */
export interface VendorName {
  /** gitleaks rule ids this entry covers. */
  readonly ids: readonly string[];
  /** Lower-case word looked for in the name. */
  readonly word: string;
  readonly value: RegExp;
}

const ALNUM = (min: number, max = min): RegExp => new RegExp(`^[A-Za-z0-9]{${min},${max}}$`);
const TOKEN = (min: number, max = min): RegExp => new RegExp(`^[A-Za-z0-9=_\\-]{${min},${max}}$`);
const HEX = (min: number, max = min): RegExp => new RegExp(`^[a-fA-F0-9]{${min},${max}}$`);
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const VENDOR_NAMES: readonly VendorName[] = [
  { ids: ["adafruit-api-key"], word: "adafruit", value: TOKEN(32) },
  { ids: ["adobe-client-id"], word: "adobe", value: HEX(32) },
  { ids: ["airtable-api-key"], word: "airtable", value: ALNUM(17) },
  { ids: ["algolia-api-key"], word: "algolia", value: ALNUM(32) },
  { ids: ["alibaba-secret-key"], word: "alibaba", value: ALNUM(30) },
  { ids: ["asana-client-id", "asana-client-secret"], word: "asana", value: /^(?:\d{16}|[a-z0-9]{32})$/ },
  { ids: ["atlassian-api-token"], word: "atlassian", value: ALNUM(24) },
  { ids: ["atlassian-api-token"], word: "jira", value: ALNUM(24) },
  { ids: ["atlassian-api-token"], word: "confluence", value: ALNUM(24) },
  { ids: ["beamer-api-token"], word: "beamer", value: /^b_[A-Za-z0-9=_-]{44}$/ },
  { ids: ["bitbucket-client-id", "bitbucket-client-secret"], word: "bitbucket", value: /^(?:[a-z0-9]{32}|[a-z0-9=_-]{64})$/ },
  { ids: ["bittrex-access-key", "bittrex-secret-key"], word: "bittrex", value: ALNUM(32) },
  { ids: ["cisco-meraki-api-key"], word: "meraki", value: HEX(40) },
  { ids: ["cloudflare-api-key", "cloudflare-global-api-key"], word: "cloudflare", value: /^(?:[A-Za-z0-9_-]{40}|[a-f0-9]{37})$/ },
  { ids: ["codecov-access-token"], word: "codecov", value: ALNUM(32) },
  { ids: ["cohere-api-token"], word: "cohere", value: ALNUM(40) },
  { ids: ["cohere-api-token"], word: "co_api_key", value: ALNUM(40) },
  { ids: ["coinbase-access-token"], word: "coinbase", value: TOKEN(64) },
  { ids: ["confluent-access-token", "confluent-secret-key"], word: "confluent", value: /^(?:[A-Za-z0-9]{16}|[A-Za-z0-9]{64})$/ },
  { ids: ["contentful-delivery-api-token"], word: "contentful", value: TOKEN(43) },
  { ids: ["datadog-access-token"], word: "datadog", value: ALNUM(32, 40) },
  { ids: ["defined-networking-api-token"], word: "dnkey", value: /^dnkey-[A-Za-z0-9=_-]{26}-[A-Za-z0-9=_-]{52}$/ },
  { ids: ["discord-api-token", "discord-client-id", "discord-client-secret"], word: "discord", value: /^(?:[a-f0-9]{64}|\d{18}|[A-Za-z0-9=_-]{32})$/ },
  { ids: ["droneci-access-token"], word: "drone", value: ALNUM(32) },
  { ids: ["dropbox-api-token", "dropbox-long-lived-api-token", "dropbox-short-lived-api-token"], word: "dropbox", value: /^(?:[a-z0-9]{15}|[a-z0-9]{11}AAAAAAAAAA[a-z0-9_=-]{43}|sl\.[A-Za-z0-9_=-]{130,})$/i },
  { ids: ["etsy-access-token"], word: "etsy", value: ALNUM(24) },
  { ids: ["facebook-secret", "facebook-access-token"], word: "facebook", value: /^(?:[a-f0-9]{32}|\d{15,16}[|%][0-9a-z_-]{27,40})$/i },
  { ids: ["fastly-api-token"], word: "fastly", value: TOKEN(32) },
  { ids: ["finicity-api-token", "finicity-client-secret"], word: "finicity", value: /^(?:[a-f0-9]{32}|[a-z0-9]{20})$/i },
  { ids: ["finnhub-access-token"], word: "finnhub", value: ALNUM(20) },
  { ids: ["flickr-access-token"], word: "flickr", value: ALNUM(32) },
  { ids: ["freshbooks-access-token"], word: "freshbooks", value: ALNUM(64) },
  { ids: ["gitter-access-token"], word: "gitter", value: TOKEN(40) },
  { ids: ["gocardless-api-token"], word: "gocardless", value: /^live_[A-Za-z0-9_=-]{40}$/ },
  { ids: ["heroku-api-key"], word: "heroku", value: UUID },
  { ids: ["hubspot-api-key"], word: "hubspot", value: UUID },
  { ids: ["intercom-api-key"], word: "intercom", value: TOKEN(60) },
  { ids: ["intra42-client-secret"], word: "intra", value: /^s-s4t2(?:ud|af)-[a-f0-9]{64}$/ },
  { ids: ["jfrog-api-key", "jfrog-identity-token"], word: "jfrog", value: /^(?:[a-z0-9]{73}|[a-z0-9]{64})$/i },
  { ids: ["jfrog-api-key", "jfrog-identity-token"], word: "artifactory", value: /^(?:[a-z0-9]{73}|[a-z0-9]{64})$/i },
  { ids: ["kraken-access-token"], word: "kraken", value: /^[A-Za-z0-9/=_+-]{80,90}$/ },
  { ids: ["kucoin-access-token", "kucoin-secret-key"], word: "kucoin", value: /^(?:[a-f0-9]{24}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/ },
  { ids: ["launchdarkly-access-token"], word: "launchdarkly", value: TOKEN(40) },
  { ids: ["linear-client-secret"], word: "linear", value: HEX(32) },
  { ids: ["linkedin-client-id", "linkedin-client-secret"], word: "linkedin", value: ALNUM(14, 16) },
  { ids: ["lob-api-key", "lob-pub-api-key"], word: "lob", value: /^(?:live|test)_(?:pub_)?[a-f0-9]{31,35}$/ },
  { ids: ["mailchimp-api-key"], word: "mailchimp", value: /^[a-f0-9]{32}-us\d\d$/ },
  { ids: ["mailgun-pub-key", "mailgun-signing-key"], word: "mailgun", value: /^(?:pubkey-[a-f0-9]{32}|[a-h0-9]{32}-[a-h0-9]{8}-[a-h0-9]{8})$/ },
  { ids: ["mapbox-api-token"], word: "mapbox", value: /^pk\.[A-Za-z0-9]{60}\.[A-Za-z0-9]{22}$/ },
  { ids: ["mattermost-access-token"], word: "mattermost", value: ALNUM(26) },
  { ids: ["messagebird-api-token", "messagebird-client-id"], word: "messagebird", value: /^(?:[A-Za-z0-9]{25}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/ },
  { ids: ["netlify-access-token"], word: "netlify", value: TOKEN(40, 46) },
  { ids: ["new-relic-user-api-id"], word: "newrelic", value: ALNUM(64) },
  { ids: ["new-relic-user-api-id"], word: "new_relic", value: ALNUM(64) },
  { ids: ["nytimes-access-token"], word: "nytimes", value: TOKEN(32) },
  { ids: ["okta-access-token"], word: "okta", value: /^00[A-Za-z0-9=_-]{40}$/ },
  { ids: ["plaid-client-id", "plaid-secret-key"], word: "plaid", value: ALNUM(24, 30) },
  { ids: ["privateai-api-token"], word: "privateai", value: ALNUM(32) },
  { ids: ["privateai-api-token"], word: "private_ai", value: ALNUM(32) },
  { ids: ["rapidapi-access-token"], word: "rapidapi", value: TOKEN(50) },
  { ids: ["sendbird-access-id", "sendbird-access-token"], word: "sendbird", value: /^(?:[a-f0-9]{40}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/ },
  { ids: ["sentry-access-token"], word: "sentry", value: HEX(64) },
  { ids: ["sidekiq-secret"], word: "contribsys", value: /^[a-f0-9]{8}:[a-f0-9]{8}$/ },
  { ids: ["snyk-api-token"], word: "snyk", value: UUID },
  { ids: ["sonar-api-token"], word: "sonar", value: /^(?:squ_|sqp_|sqa_)?[A-Za-z0-9=_-]{40}$/ },
  { ids: ["squarespace-access-token"], word: "squarespace", value: UUID },
  { ids: ["sumologic-access-id", "sumologic-access-token"], word: "sumo", value: /^(?:su[A-Za-z0-9]{12}|[A-Za-z0-9]{64})$/ },
  { ids: ["travisci-access-token"], word: "travis", value: ALNUM(22) },
  { ids: ["twitch-api-token"], word: "twitch", value: ALNUM(30) },
  { ids: ["twitter-access-secret", "twitter-access-token", "twitter-api-key", "twitter-api-secret", "twitter-bearer-token"], word: "twitter", value: /^(?:[A-Za-z0-9]{25}|[A-Za-z0-9]{45}|[A-Za-z0-9]{50}|\d{15,25}-[A-Za-z0-9]{20,40}|A{22}[A-Za-z0-9%]{80,100})$/ },
  { ids: ["typeform-api-token"], word: "typeform", value: /^tfp_[A-Za-z0-9_.=-]{59}$/ },
  { ids: ["yandex-access-token", "yandex-api-key", "yandex-aws-access-token"], word: "yandex", value: /^(?:t1\.[A-Za-z0-9_-]+=*\.[A-Za-z0-9_-]{86}=*|AQVN[A-Za-z0-9_-]{35,38}|YC[A-Za-z0-9_-]{38})$/ },
  { ids: ["zendesk-secret-key"], word: "zendesk", value: ALNUM(40) },
];

const ANY_VENDOR = new RegExp(VENDOR_NAMES.map((v) => v.word).join("|"), "i");

/** The first vendor whose word the name holds (one regular-expression test first: most names hold none). */
export function vendorFor(name: string): VendorName | undefined {
  if (!ANY_VENDOR.test(name)) return undefined;
  const lowerName = name.toLowerCase();
  return VENDOR_NAMES.find((vendor) => lowerName.includes(vendor.word));
}
