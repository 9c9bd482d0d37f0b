// The scimd console's enhancements. Every page works without them.
"use strict";

// Times: the server writes UTC; show them in the browser's time zone.
function localTimes(root) {
  for (const t of root.querySelectorAll("time[datetime]")) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) {
      t.textContent = d.toLocaleString();
      t.title = t.getAttribute("datetime");
    }
  }
}

// Shared sessions: select all, a confirmation dialog, live updates.
function seatsPage() {
  const section = document.getElementById("seats");
  if (!section) {
    return;
  }
  const wire = () => {
    const all = section.querySelector("#select-all");
    const boxes = () => section.querySelectorAll('input[name="id"]');
    if (all) {
      all.hidden = false;
      all.addEventListener("change", () => { for (const b of boxes()) b.checked = all.checked; });
    }
    const form = section.querySelector("#end-form");
    if (form) {
      form.addEventListener("submit", (e) => {
        const picked = [...boxes()].filter((b) => b.checked);
        if (picked.length === 0) {
          e.preventDefault();
          window.alert("Select the sessions to end with their checkboxes.");
          return;
        }
        const names = picked.map((b) => b.closest("tr").querySelector('[data-label="Agent"]').textContent.trim());
        const n = picked.length === 1 ? "1 shared session" : picked.length + " shared sessions";
        if (!window.confirm("End " + n + ", of " + names.join(", ") + "?")) {
          e.preventDefault();
          return;
        }
        const c = document.createElement("input");
        c.type = "hidden"; c.name = "confirm"; c.value = "1";
        form.appendChild(c);
      });
    }
  };
  // Each reconnection and refetch uses the console session, so live
  // updates pause after 25 minutes without input: an unattended page
  // does not keep its session from ending after 30 idle minutes.
  let source, lastInput = Date.now(), paused = false;
  for (const ev of ["pointerdown", "keydown"]) {
    document.addEventListener(ev, () => { lastInput = Date.now(); }, { passive: true });
  }
  const idle = () => Date.now() - lastInput > 25 * 60 * 1000;
  const pause = () => {
    paused = true;
    source.close();
    const note = document.createElement("p");
    note.className = "notice";
    note.setAttribute("role", "status");
    note.textContent = "Live updates paused after 25 minutes without activity. Reload the page to resume.";
    section.prepend(note);
  };
  setInterval(() => { if (!paused && idle()) pause(); }, 60 * 1000);
  const listen = () => {
    if (paused) {
      return;
    }
    source = new EventSource(section.dataset.events);
    // The console session ended (signed out, deactivated, a privilege
    // taken away): the page itself then goes to sign-in.
    source.addEventListener("ended", () => {
      source.close();
      window.location.assign(section.dataset.self);
    });
    source.addEventListener("seats", async () => {
      if (idle()) {
        pause();
        return;
      }
      source.close();
      try {
        const r = await fetch(section.dataset.self, { credentials: "same-origin" });
        const doc = new DOMParser().parseFromString(await r.text(), "text/html");
        const fresh = doc.getElementById("seats");
        if (fresh) {
          const picked = new Set([...section.querySelectorAll('input[name="id"]:checked')].map((b) => b.value));
          section.replaceChildren(...fresh.childNodes);
          section.dataset.events = fresh.dataset.events;
          section.dataset.self = fresh.dataset.self;
          for (const b of section.querySelectorAll('input[name="id"]')) b.checked = picked.has(b.value);
          localTimes(section);
          wire();
        }
      } finally {
        listen();
      }
    });
  };
  wire();
  listen();
}

localTimes(document);
seatsPage();
