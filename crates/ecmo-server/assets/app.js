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
