import { app } from "@azure/functions";

// Streams let chat completions pass SSE through as it arrives (host 4.28+).
app.setup({ enableHttpStream: true });
