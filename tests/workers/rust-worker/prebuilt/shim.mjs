// Hand-written stand-in for the shim worker-build generates (no WASM: see ../README.md).
// GET /health -> 200 "ok" (500 when MODE = "broken"); GET /version -> {"ok", "version", "runtime"}.
export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const broken = env.MODE === "broken";
    if (pathname === "/health") {
      return broken ? new Response("broken", { status: 500 }) : new Response("ok");
    }
    if (pathname === "/version") {
      return Response.json({ ok: !broken, version: env.VERSION ?? null, runtime: "rust-placeholder" });
    }
    return new Response("not found", { status: 404 });
  },
};
