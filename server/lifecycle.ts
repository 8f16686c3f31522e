// Shutdown of the web process. Next.js closes its HTTP server on SIGTERM and waits
// for open requests; live event streams never end by themselves, so they listen
// to this signal and close, letting the process exit promptly.
const g = globalThis as unknown as { rampartShutdown?: AbortController };

export function shutdownSignal(): AbortSignal {
  if (!g.rampartShutdown) {
    const controller = new AbortController();
    g.rampartShutdown = controller;
    const stop = () => controller.abort(new Error("server shutting down"));
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  }
  return g.rampartShutdown.signal;
}
