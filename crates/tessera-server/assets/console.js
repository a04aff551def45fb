// Progressive enhancement only: every form works without this file.
"use strict";

document.addEventListener("click", async (event) => {
  const target = event.target;
  if (!(target instanceof HTMLButtonElement)) return;

  if (target.classList.contains("copy")) {
    const field = document.getElementById(target.dataset.copy);
    if (!field) return;
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      target.textContent = "Copied";
    } catch {
      target.textContent = "Press Ctrl+C";
    }
  }

  if (target.classList.contains("add-row")) {
    const rows = target.closest(".url-rows");
    const last = rows.querySelectorAll(".url-row");
    const copy = last[last.length - 1].cloneNode(true);
    const input = copy.querySelector("input");
    input.value = "";
    input.setAttribute("aria-label", input.getAttribute("aria-label").replace(/\d+$/, String(last.length + 1)));
    target.before(copy);
    input.focus();
  }

  if (target.classList.contains("remove-row")) {
    const rows = target.closest(".url-rows");
    const row = target.closest(".url-row");
    if (rows.querySelectorAll(".url-row").length > 1) {
      row.remove();
    } else {
      row.querySelector("input").value = "";
    }
  }
});
