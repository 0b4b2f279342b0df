// A live transcript, shared by the customer's chat page and the agent console's case view.
// The page renders the latest messages; older ones load on scrolling to the top; new ones
// arrive over Server-Sent Events (the browser reconnects by itself and sends
// Last-Event-ID, so nothing is missed); what is written carries one id until it is
// accepted, so a double click or a resend is one message.
window.liveTranscript = function (o) {
  const log = document.getElementById("log"), status = document.getElementById("status");
  // The status line says what went wrong (red) or, with class "ok", what went right.
  const say = (text, ok = false) => { status.textContent = text; status.classList.toggle("ok", ok); };
  const params = extra => new URLSearchParams({ ...o.query, ...extra }).toString();
  const seen = new Set([...log.querySelectorAll("li[data-seq]")].map(li => +li.dataset.seq));
  let last = o.lastSeq, oldest = Math.min(...seen, Infinity), more = o.moreBefore, loading = false;
  function item(m) {
    const li = document.createElement("li");
    li.className = (m.mine ? "mine" : "theirs") + (m.kind ? " " + m.kind : "");
    li.dataset.seq = m.seq;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `${m.who} · ${m.channel} · ${m.at}`;
    const pictures = m.media_count ? ` [${m.media_count} picture${m.media_count === 1 ? "" : "s"}]` : "";
    li.append(meta, document.createTextNode(m.text + pictures));
    return li;
  }
  function add(m) {
    if (seen.has(m.seq)) return;
    seen.add(m.seq);
    last = Math.max(last, m.seq);
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(item(m));
    if (atBottom || m.mine) log.scrollTop = log.scrollHeight;
  }
  log.scrollTop = log.scrollHeight;
  const stream = new EventSource(`${o.base}/events?${params({ after: last })}`);
  // A message means the stream is back: clear its own notice, never another one (the chat's
  // "Thank you for your rating." arrives just before the case's thanks, and must stay).
  const reconnecting = "Reconnecting…";
  stream.addEventListener("message", e => {
    if (status.textContent === reconnecting) say("");
    add(JSON.parse(e.data));
  });
  for (const [name, handle] of Object.entries(o.on || {})) {
    stream.addEventListener(name, e => handle(JSON.parse(e.data)));
  }
  stream.onerror = () => { say(reconnecting); };
  async function older() {
    if (loading || !more) return;
    loading = true;
    const r = await fetch(`${o.base}/messages?${params({ before: oldest })}`);
    if (r.ok) {
      const page = await r.json(), height = log.scrollHeight;
      const anchor = log.querySelector("li[data-seq]");
      for (const m of page.messages) {
        if (!seen.has(m.seq)) { seen.add(m.seq); log.insertBefore(item(m), anchor); }
      }
      oldest = Math.min(oldest, ...page.messages.map(m => m.seq));
      more = page.more_before;
      if (!more) { const b = document.getElementById("older"); if (b) b.parentElement.remove(); }
      log.scrollTop += log.scrollHeight - height;
    }
    loading = false;
  }
  log.addEventListener("scroll", () => { if (log.scrollTop < 30) older(); });
  const olderButton = document.getElementById("older");
  if (olderButton) olderButton.addEventListener("click", older);
  const form = document.getElementById("write");
  if (!form) return;
  let pending = null;
  // An edited message is a new message: it gets a new id.
  document.getElementById("text").addEventListener("input", () => { pending = null; });
  form.addEventListener("submit", async e => {
    e.preventDefault();
    const text = document.getElementById("text"), send = document.getElementById("send");
    if (!text.value.trim()) return;
    pending = pending || (crypto.randomUUID ? crypto.randomUUID()
      : String(Date.now()) + Math.random().toString(16).slice(2));
    send.disabled = true;
    try {
      const body = new URLSearchParams({ ...(o.form || {}), text: text.value, client_id: pending });
      const r = await fetch(o.writeTo || `${o.base}/messages?${params({})}`, { method: "POST", body });
      if (r.ok) { text.value = ""; pending = null; say(""); }
      else { say((await r.json()).error || "Not sent: try again."); }
    } catch { say("Not sent: check your connection and try again."); }
    send.disabled = false;
  });
};
