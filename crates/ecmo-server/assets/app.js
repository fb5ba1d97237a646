// Small progressive enhancements; every page works without this script.
document.addEventListener("DOMContentLoaded", () => {
  // Choosing what to record sets the kind (event or observation) to match.
  const form = document.querySelector("form.entry[action*='/entries']");
  if (!form) return;
  const code = form.querySelector("select[name=code]");
  const kind = form.querySelector("select[name=kind]");
  code.addEventListener("change", () => {
    const opt = code.selectedOptions[0];
    if (opt && opt.dataset.kind) kind.value = opt.dataset.kind;
  });
});

// A running study: follow its progress, reload when it has finished.
document.addEventListener("DOMContentLoaded", () => {
  const el = document.querySelector("[data-poll]");
  if (!el) return;
  const tick = async () => {
    const r = await fetch(el.dataset.poll, { credentials: "same-origin" });
    if (!r.ok) return;
    const job = await r.json();
    if (job.state !== "running") { location.reload(); return; }
    el.querySelector(".progress").textContent = job.progress;
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
});
