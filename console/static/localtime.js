// The scimd console: times written by the server in UTC, shown in the
// browser's time zone. An enhancement only: without it they read in UTC.
"use strict";
document.querySelectorAll("time[data-local]").forEach((el) => {
  const at = new Date(el.getAttribute("datetime"));
  if (isNaN(at)) return;
  el.title = el.textContent;
  el.textContent = at.toLocaleString(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  });
});
