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
        if (e.submitter && e.submitter.id === "end-confirm") {
          return; // confirmed in the dialog
        }
        e.preventDefault();
        const picked = [...boxes()].filter((b) => b.checked);
        const from = e.submitter || section.querySelector("#end-button");
        say(from, picked.length ? "" : "Select the sessions to end with their checkboxes.");
        if (picked.length) {
          confirmEnd(picked.map((b) => b.closest("tr").querySelector('[data-label="Agent"]').textContent.trim()), from);
        }
      });
    }
  };
  // say shows (or with "" removes) a message after the button.
  const say = (button, message) => {
    let p = document.getElementById("end-error");
    if (!message) {
      p?.remove();
      return;
    }
    if (!p) {
      p = document.createElement("p");
      p.id = "end-error";
      p.className = "error";
      p.setAttribute("role", "alert");
      button.after(p);
    }
    p.textContent = message;
  };
  // The confirmation: a modal dialog naming the sessions' agents. Focus
  // starts on Cancel and stays in the dialog (Tab and Shift+Tab wrap);
  // Escape or Cancel close it and return focus to End session.
  const dialog = document.getElementById("end-dialog");
  let opener = null;
  const confirmEnd = (names, from) => {
    opener = from;
    const n = names.length === 1 ? "1 shared session" : names.length + " shared sessions";
    dialog.querySelector("#end-what").textContent = n + " of " + dialog.dataset.product + " will end, those of:";
    dialog.querySelector("#end-agents").replaceChildren(...names.map((name) => {
      const li = document.createElement("li");
      li.textContent = name;
      return li;
    }));
    dialog.querySelector("#end-confirm").textContent = names.length === 1 ? "End 1 session" : "End " + names.length + " sessions";
    dialog.showModal();
    dialog.querySelector("#end-cancel").focus();
  };
  if (dialog) {
    dialog.querySelector("#end-cancel").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      (document.contains(opener) ? opener : document.getElementById("end-button"))?.focus();
    });
    dialog.addEventListener("keydown", (e) => {
      if (e.key !== "Tab") {
        return;
      }
      const stops = [...dialog.querySelectorAll("button, a[href], input, select, textarea")].filter((el) => !el.disabled);
      const first = stops[0], last = stops[stops.length - 1];
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    });
  }
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
  // refresh fetches the page again and puts its fresh list in place; a
  // session that ended sends the page to sign-in instead.
  const refresh = async () => {
    source.close();
    try {
      const r = await fetch(section.dataset.self, { credentials: "same-origin" });
      if (new URL(r.url).pathname === "/console/signin") {
        window.location.assign(r.url);
        return;
      }
      const doc = new DOMParser().parseFromString(await r.text(), "text/html");
      const fresh = doc.getElementById("seats");
      if (fresh) {
        const picked = new Set([...section.querySelectorAll('input[name="id"]:checked')].map((b) => b.value));
        // Keyboard users keep their place: the element focused before
        // comes back focused if the fresh list still has it.
        const focused = section.contains(document.activeElement) ? document.activeElement.id : "";
        section.replaceChildren(...fresh.childNodes);
        section.dataset.events = fresh.dataset.events;
        section.dataset.self = fresh.dataset.self;
        for (const b of section.querySelectorAll('input[name="id"]')) b.checked = picked.has(b.value);
        localTimes(section);
        wire();
        if (focused) {
          document.getElementById(focused)?.focus();
        }
      }
    } catch {
      // Offline: listen again, which retries.
    }
    listen();
  };
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
    source.addEventListener("seats", () => {
      if (idle()) {
        pause();
      } else {
        refresh();
      }
    });
    // A stream refused for good (the session ended before it opened, so
    // that it was sent to sign-in; the database down) is not retried by
    // the browser: the page is fetched again after a pause instead.
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(() => { if (!paused) refresh(); }, 2000);
      }
    });
  };
  wire();
  listen();
}

localTimes(document);
seatsPage();

// Usage: report in the browser's time zone. The page is drawn in the zone
// of its tz parameter (UTC without one); a page without one is asked for
// again with the browser's.
function usageZone() {
  const form = document.getElementById("usage-form");
  if (!form) {
    return;
  }
  const field = form.querySelector('input[name="tz"]');
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    return;
  }
  if (!field || !zone || field.value) {
    return;
  }
  field.value = zone;
  const url = new URL(window.location.href);
  if (!url.searchParams.has("tz")) {
    url.searchParams.set("tz", zone);
    window.location.replace(url.toString());
  }
}

usageZone();
