import { type SecretRule } from "../SecretRule.js";
import { sampleToken } from "./sampleToken.js";
import { tokenRule } from "./tokenRule.js";

const digits = (seed: number, n: number): string => sampleToken(seed, "hex", n).replace(/[a-f]/g, (c) => String(c.charCodeAt(0) % 10));

export const messagingRules: readonly SecretRule[] = [
  tokenRule({
    id: "slack-bot-token",
    alsoCovers: ["slack-user-token", "slack-legacy-bot-token", "slack-legacy-token", "slack-legacy-workspace-token", "slack-config-access-token", "slack-config-refresh-token"],
    description: "Slack bot, user, workspace, legacy and configuration tokens (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxo-, xoxe-)",
    keywords: ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxo-", "xoxe-", "xoxe.xox"],
    pattern: /(?<![A-Za-z0-9])xox(?:[bparso]|e(?:\.xox[bp])?)-[A-Za-z0-9]+(?:-[A-Za-z0-9]+){0,5}/y,
    validate: (secret) => secret.length >= 24 && /\d/.test(secret),
    minEntropy: 3,
    sample: `xoxb-${digits(400, 12)}-${digits(401, 13)}-${sampleToken(402, "alnum", 24)}`,
    ignored: ["xoxb-xxxxxxxxxxxx-xxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx", "SLACK_BOT_TOKEN=xoxb-your-bot-token"],
  }),
  tokenRule({
    id: "slack-app-token",
    description: "Slack app-level token (xapp-)",
    keywords: ["xapp-"],
    pattern: /(?<![A-Za-z0-9])xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+/y,
    minEntropy: 2,
    sample: `xapp-1-A${sampleToken(403, "upper", 10)}-${digits(404, 13)}-${sampleToken(405, "hex", 64)}`,
  }),
  tokenRule({
    id: "slack-webhook-url",
    description: "Slack incoming webhook, workflow and trigger URLs",
    keywords: ["hooks.slack.com/"],
    keywordOffset: "token",
    pattern: /(?:https?:\/\/)?hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9+/]{43,56}/y,
    sample: `hooks.slack.com/services/T${sampleToken(406, "upper", 8)}/B${sampleToken(407, "upper", 10)}/${sampleToken(408, "alnum", 24)}`,
  }),
  tokenRule({
    id: "microsoft-teams-webhook",
    description: "Microsoft Teams incoming webhook URL",
    keywords: [".webhook.office.com/webhookb2/"],
    keywordOffset: "token",
    pattern: /https:\/\/[a-z0-9]+\.webhook\.office\.com\/webhookb2\/[a-z0-9-]{36}@[a-z0-9-]{36}\/IncomingWebhook\/[a-z0-9]{32}\/[a-z0-9-]{36}/y,
    sample: `https://contoso.webhook.office.com/webhookb2/${sampleToken(409, "hex", 8)}-1111-2222-3333-${sampleToken(410, "hex", 12)}@${sampleToken(411, "hex", 8)}-4444-5555-6666-${sampleToken(412, "hex", 12)}/IncomingWebhook/${sampleToken(413, "hex", 32)}/${sampleToken(414, "hex", 8)}-7777-8888-9999-${sampleToken(415, "hex", 12)}`,
  }),
  tokenRule({
    id: "discord-webhook-url",
    description: "Discord webhook URL (not in gitleaks' default set)",
    keywords: ["discord.com/api/webhooks/", "discordapp.com/api/webhooks/"],
    pattern: /discord(?:app)?\.com\/api\/webhooks\/\d{17,20}\/[A-Za-z0-9_-]{60,68}/y,
    sample: `discord.com/api/webhooks/${digits(416, 18)}/${sampleToken(417, "url", 68)}`,
  }),
  tokenRule({
    id: "sendgrid-api-token",
    description: "SendGrid API key",
    keywords: ["SG."],
    pattern: /(?<![A-Za-z0-9_.-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/y,
    minEntropy: 3,
    sample: `SG.${sampleToken(418, "url", 22)}.${sampleToken(419, "url", 43)}`,
  }),
  tokenRule({
    id: "sendinblue-api-token",
    description: "Brevo (Sendinblue) API key",
    keywords: ["xkeysib-", "xsmtpsib-"],
    pattern: /(?<![A-Za-z0-9_-])x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}(?![A-Za-z0-9])/y,
    sample: `xkeysib-${sampleToken(420, "hex", 64)}-${sampleToken(421, "alnum", 16)}`,
  }),
  tokenRule({
    id: "twilio-api-key",
    description: "Twilio API key SID (SK + 32 hex)",
    keywords: ["SK"],
    pattern: /(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![A-Za-z0-9])/y,
    minEntropy: 3,
    sample: `SK${sampleToken(422, "hex", 32)}`,
  }),
  tokenRule({
    id: "mailgun-private-api-token",
    description: "Mailgun private API key (key-...)",
    keywords: ["key-"],
    pattern: /(?<![A-Za-z0-9_-])key-[a-f0-9]{32}(?![A-Za-z0-9])/y,
    minEntropy: 3,
    sample: `key-${sampleToken(423, "hex", 32)}`,
  }),
  tokenRule({
    id: "telegram-bot-api-token",
    description: "Telegram bot token (id:AA...)",
    keywords: [":AA"],
    keywordOffset: "token",
    pattern: /(?<![0-9])\d{10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/y,
    minEntropy: 3.5,
    sample: `${digits(424, 10).replace(/^0/, "7")}:AA${sampleToken(425, "url", 33)}`,
  }),
];
