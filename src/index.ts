import { app } from "@azure/functions";

// Streams let chat completions pass SSE through as it arrives (host 4.28+).
app.setup({ enableHttpStream: true });

// When the worker is told the app is terminating (scale-in, redeploy): write pending usage, hand back
// limit leases and close the Service Bus sender, so an instance going away loses nothing it holds.
app.hook.appTerminate(async () => {
  const { closeServices } = await import("./composition/services.js");
  await closeServices();
});
