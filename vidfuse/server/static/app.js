// vidfuse web page: plain JavaScript, no build step, nothing fetched from outside this server.
// Progress arrives as server-sent events (EventSource), so there is no polling loop.
"use strict";

// The translations: vidfuse/server/static/i18n.json ({"en": {...}, "zh": {...}}), loaded once by init()
// before anything is rendered with t(). Should that fail, the page stays in English: the English of every
// [data-i18n*] element is what index.html itself says, and a string the page makes up (a status, an error)
// shows its key.
const I18N = {en: {}};

async function loadTranslations() {
  try {
    const res = await fetch("/static/i18n.json");
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const tables = await res.json();
    if (!tables || typeof tables.en !== "object") throw new Error("no English table");
    Object.assign(I18N, tables);
  } catch (err) {
    console.warn("vidfuse: no translations (/static/i18n.json), English only:", err);
    I18N.en = englishFromPage();
  }
}

// The English that index.html holds; read before applyLanguage() first overwrites it.
function englishFromPage() {
  const en = {};
  for (const el of document.querySelectorAll("[data-i18n]")) en[el.dataset.i18n] = el.textContent.trim();
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) en[el.dataset.i18nPlaceholder] = el.placeholder;
  for (const el of document.querySelectorAll("[data-i18n-title]")) en[el.dataset.i18nTitle] = el.title;
  return en;
}

const $ = (id) => document.getElementById(id);
const state = {
  lang: localStorage.getItem("vidfuse.lang") ||
        ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en"),
  mode: "prompt",
  token: sessionStorage.getItem("vidfuse.token") || "",
  info: null,
  models: [],           // GET /v1/models: what the picker offers
  current: null,        // id of the job shown in the progress box
  source: null,         // its EventSource
};

function t(key, vars) {
  let s = (I18N[state.lang] && I18N[state.lang][key]) || I18N.en[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
  return s;
}

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of document.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  $("lang-toggle").textContent = state.lang === "zh" ? "English" : "中文";
  updateCounters();
  renderModels();
  renderHistory(lastJobs);
}

// ---- the token: from the URL fragment (#token=…), this tab's storage, or the dialog -------------
function readTokenFromFragment() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    state.token = decodeURIComponent(m[1]);
    sessionStorage.setItem("vidfuse.token", state.token);
    history.replaceState(null, "", location.pathname + location.search);  // keep it out of the address bar
  }
}

function askToken() {
  return new Promise((resolve) => {
    const dialog = $("token-dialog");
    if (dialog.open) return resolve();
    $("token-form").onsubmit = (ev) => {
      ev.preventDefault();
      state.token = $("token-input").value.trim();
      sessionStorage.setItem("vidfuse.token", state.token);
      dialog.close();
      resolve();
    };
    dialog.showModal();
  });
}

// URLs that the browser fetches by itself (<video>, <img>, <track>, EventSource) cannot send headers:
// with a token, the server hands them out signed (?exp=…&sig=…, valid for an hour or so) in each job's
// JSON, so they are used as given and the token itself never goes into a URL.
function withParam(url, param) {
  return url + (url.includes("?") ? "&" : "?") + param;
}

async function api(method, url, body) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const headers = {"Accept": "application/json"};
    if (state.token) headers["Authorization"] = "Bearer " + state.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (err) {
      setServerStatus(false);
      throw new Error(t("offline"));
    }
    setServerStatus(true);
    if (res.status === 401) { await askToken(); continue; }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      let detail = data.detail;
      if (Array.isArray(detail)) detail = detail.map((d) => d.msg).join("; ");
      const err = new Error(detail || `HTTP ${res.status}`);
      err.status = res.status;
      err.retryAfter = res.headers.get("Retry-After");
      throw err;
    }
    return data;
  }
  throw new Error("401");
}

function setServerStatus(ok) {
  $("server-status").classList.toggle("ok", ok);
  $("server-status").classList.toggle("bad", !ok);
}

// ---- the form -------------------------------------------------------------------------------
function setMode(mode) {
  state.mode = mode;
  for (const tab of document.querySelectorAll(".tab")) {
    const on = tab.dataset.mode === mode;
    tab.classList.toggle("active", on);
    tab.setAttribute("aria-selected", on ? "true" : "false");
  }
  $("prompt-field").classList.toggle("hidden", mode !== "prompt");
  $("script-field").classList.toggle("hidden", mode !== "script");
  for (const el of document.querySelectorAll(".script-only")) el.classList.toggle("hidden", mode !== "script");
  for (const el of document.querySelectorAll(".prompt-only")) el.classList.toggle("hidden", mode !== "prompt");
  $("form-error").textContent = "";
}

function updateCounters() {
  for (const [id, key] of [["prompt", "max_prompt_chars"], ["script", "max_script_chars"]]) {
    const max = state.info ? state.info.limits[key] : $(id).maxLength;
    $(`${id}-count`).textContent = t("chars", {n: $(id).value.length, max});
  }
}

async function submitJob(ev) {
  ev.preventDefault();
  const text = $(state.mode).value.trim();
  const error = $("form-error");
  error.textContent = "";
  if (!text) { error.textContent = t("emptyInput"); return; }
  const body = {[state.mode]: text};
  if (state.mode === "prompt") {  // frames and size: empty = the model's native ones (the placeholders)
    const [w, h] = [$("width").value, $("height").value];
    if ((w === "") !== (h === "")) { error.textContent = t("sizeBoth"); return; }
    if (w !== "") { body.width = Number(w); body.height = Number(h); }
    if ($("frames").value !== "") body.frames = Number($("frames").value);
  }
  if ($("aspect").value && body.width === undefined) body.aspect = $("aspect").value;
  if ($("seed").value !== "") body.seed = Number($("seed").value);
  const model = selectedModel();
  if (model) {
    body.model = model.name;
    if (model.backend === "diffusers") {  // options the built-in models do not take
      if ($("steps").value !== "") body.steps = Number($("steps").value);
      if ($("negative-prompt").value.trim()) body.negative_prompt = $("negative-prompt").value.trim();
    }
  }
  if (state.mode === "script") {
    body.lang = $("lang").value;
    body.subtitles = $("subtitles").value;
    if ($("voice").value) body.voice = $("voice").value;
    body.music = $("music").value;
  }
  const button = $("submit");
  button.disabled = true;
  button.textContent = t("submitting");
  try {
    const job = await api("POST", "/v1/videos", body);
    follow(job);
    loadHistory();
  } catch (err) {
    error.textContent = err.message + (err.retryAfter ? ` (Retry-After: ${err.retryAfter} s)` : "");
  } finally {
    button.disabled = false;
    button.textContent = t("generate");
  }
}

// ---- progress ---------------------------------------------------------------------------------
function follow(job) {
  if (state.source) state.source.close();
  state.current = job.id;
  $("progress-box").classList.remove("hidden");
  $("progress-id").textContent = job.id.slice(0, 8) + " · " + job.title;
  showProgress(job);
  const source = new EventSource(job.urls.events);
  state.source = source;
  // A stream the server refused (its signed URL expired, or the server restarted with a new secret)
  // is closed for good: ask for the job again, which brings fresh URLs, and follow it anew.
  source.onerror = () => {
    if (source.readyState !== EventSource.CLOSED || state.source !== source) return;
    setTimeout(() => {
      if (state.source !== source) return;
      api("GET", `/v1/jobs/${job.id}`).then(follow).catch(() => {});
    }, 1000);
  };
  const onEvent = (ev) => {
    const j = JSON.parse(ev.data);
    if (j.id !== state.current) return;
    showProgress(j);
    if (["done", "failed", "cancelled"].includes(j.status)) {
      source.close();
      if (j.status === "done") showResult(j);
      loadHistory();
    }
  };
  for (const name of ["progress", "done", "failed", "cancelled"]) source.addEventListener(name, onEvent);
}

// "denoising 3/20": a pretrained model's denoising step (step 3 of 20); other stages are plain names
function stageLabel(stage) {
  const m = /^denoising (\d+)\/(\d+)$/.exec(stage || "");
  return m ? t("sg_denoising", {step: m[1], total: m[2]}) : t("sg_" + stage);
}

function showProgress(job) {
  const pct = Math.round(job.progress);
  $("progress-fill").style.width = `${job.status === "done" ? 100 : pct}%`;
  $("progress-pct").textContent = `${job.status === "done" ? 100 : pct}%`;
  let label = stageLabel(job.stage);
  if (job.status === "queued" && job.queue_position) label += " · " + t("queuePos", {n: job.queue_position});
  if (job.cancel_requested && job.status === "running") label = t("cancelRequested");
  if (job.status === "failed" && job.error) label = `${t("st_failed")}: ${job.error}`;
  else if (job.warnings && job.warnings.length) label += " · ⚠ " + job.warnings.join(" ");  // words the model never saw
  $("progress-stage").textContent = label;
  const box = $("progress-box");
  box.dataset.status = job.status;
  $("cancel").classList.toggle("hidden", !["queued", "running"].includes(job.status));
}

async function cancelCurrent() {
  if (!state.current) return;
  try { showProgress(await api("DELETE", `/v1/jobs/${state.current}`)); }
  catch (err) { $("form-error").textContent = err.message; }
}

// ---- result -----------------------------------------------------------------------------------
function showResult(job) {
  const video = $("video");
  video.querySelectorAll("track").forEach((tr) => tr.remove());
  video.src = job.urls.video;
  // burned-in subtitles are already in the picture: a WebVTT track on top would stack a second caption
  const burned = job.params && job.params.subtitles === "burn";
  if (job.urls.subtitles_vtt && !burned) {
    const track = document.createElement("track");
    track.kind = "subtitles";
    track.src = job.urls.subtitles_vtt;
    track.srclang = (job.params && job.params.lang === "zh") ? "zh" : "en";
    track.label = state.lang === "zh" ? "字幕" : "Subtitles";
    track.default = true;
    video.appendChild(track);
  }
  video.muted = true;  // browsers only autoplay muted video; the controls unmute
  video.play().catch(() => {});
  $("player").classList.add("has-video");
  const shape = () => {  // the box follows the video's own shape (9:16 does not sit small in a 16:9 box)
    const w = video.videoWidth, h = video.videoHeight;
    $("player").classList.toggle("portrait", h > w * 1.05);
    $("player").classList.toggle("square", w > 0 && Math.abs(w - h) <= w * 0.05);
  };
  video.addEventListener("loadedmetadata", shape, { once: true });
  $("result-caption").textContent = job.title;
  const set = (id, url, name) => {
    const a = $(id);
    a.classList.toggle("hidden", !url);
    if (url) {
      a.href = name ? withParam(url, "download=1") : url;
      if (name) a.download = name;
    }
  };
  const short = job.id.slice(0, 8);
  set("dl-video", job.urls.video, `vidfuse-${short}.mp4`);
  set("dl-srt", job.urls.subtitles_srt, `vidfuse-${short}.srt`);
  set("dl-vtt", job.urls.subtitles_vtt, `vidfuse-${short}.vtt`);
  set("dl-storyboard", job.urls.storyboard, null);
  $("downloads").classList.remove("hidden");
}

async function openJob(id) {
  try {
    const job = await api("GET", `/v1/jobs/${id}`);
    if (job.status === "done") {
      showResult(job);
      $("player").scrollIntoView({behavior: "smooth", block: "nearest"});
    } else {
      follow(job);
    }
  } catch (err) { $("form-error").textContent = err.message; }
}

// ---- history ----------------------------------------------------------------------------------
let lastJobs = [];

async function loadHistory() {
  try {
    const data = await api("GET", "/v1/jobs?limit=24");
    lastJobs = data.jobs;
    renderHistory(lastJobs);
  } catch (err) { /* shown by the status dot */ }
}

function renderHistory(jobs) {
  const list = $("history-list");
  list.replaceChildren();
  $("history-empty").classList.toggle("hidden", jobs.length > 0);
  for (const job of jobs) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "job";
    button.dataset.id = job.id;
    button.addEventListener("click", () => openJob(job.id));
    const thumb = document.createElement("div");
    thumb.className = "thumb";
    if (job.urls.thumbnail) {
      const img = document.createElement("img");
      img.src = job.urls.thumbnail;
      img.alt = job.title;
      img.loading = "lazy";
      thumb.appendChild(img);
    } else {
      thumb.textContent = job.status === "running" ? `${Math.round(job.progress)}%` : "…";
    }
    const meta = document.createElement("div");
    meta.className = "meta";
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = job.title;
    const badge = document.createElement("span");
    badge.className = `badge ${job.status}`;
    badge.textContent = `${t(job.kind)} · ${t("st_" + job.status)}`;
    meta.append(title, badge);
    button.append(thumb, meta);
    li.appendChild(button);
    list.appendChild(li);
  }
}

// The voices and music moods this server offers (GET /v1/info); labels follow the page's language.
function fillVoiceAndMusic(info) {
  const option = (value, key, text) => {
    const o = document.createElement("option");
    o.value = value;
    if (key) { o.dataset.i18n = key; o.textContent = t(key); } else o.textContent = text;
    return o;
  };
  for (const v of info.voices || []) {
    const o = option(v.voice, null, `${v.name} · ${v.engine}`);
    o.dataset.language = v.language;
    $("voice").appendChild(o);
  }
  $("music").replaceChildren(...(info.music || ["none"]).map((m) => option(m, I18N.en["mood_" + m] ? "mood_" + m : null, m)));
  $("music").value = "none";
}

// ---- the model picker: the server's models (GET /v1/models), each with its limits ----------------
const TASK_KEYS = {"text→video": "task_t2v", "image→video": "task_i2v"};

function selectedModel() {
  return state.models.find((m) => m.name === $("model").value) || null;
}

function renderModels() {
  const select = $("model");
  $("model-field").classList.toggle("hidden", state.models.length === 0);
  if (!state.models.length) return;
  const chosen = select.value || (state.models.find((m) => m.default) || state.models[0]).name;
  select.replaceChildren(...state.models.map((m) => {
    const o = document.createElement("option");
    o.value = m.name;
    o.textContent = `${m.name} · ${m.family}` + (m.default ? ` (${t("modelDefault")})` : "");
    return o;
  }));
  select.value = chosen;
  showModelLimits();
}

function showModelLimits() {
  const m = selectedModel();
  if (!m) return;
  // tasks as the server lists them: image→video appears only for a model that can start from a picture
  const tasks = m.tasks.map((k) => t(TASK_KEYS[k] || k)).join(", ");
  let text = t("modelLimits", {family: m.family, tasks, w: m.width, h: m.height, frames: m.frames, fps: m.fps});
  if (m.max_frames) text += " · " + t("maxFrames", {n: m.max_frames});
  if (m.trained_on) text += " · " + t("trainedOn", {what: m.trained_on});
  $("model-limits").textContent = text;
  $("frames").placeholder = m.frames;
  $("width").placeholder = m.width;
  $("height").placeholder = m.height;
  const diffusers = m.backend === "diffusers";
  for (const el of document.querySelectorAll(".diffusers-only")) el.classList.toggle("hidden", !diffusers);
}

// ---- start ------------------------------------------------------------------------------------
async function init() {
  readTokenFromFragment();
  await loadTranslations();
  applyLanguage();
  $("lang-toggle").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("vidfuse.lang", state.lang);
    applyLanguage();
  });
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => setMode(tab.dataset.mode));
  $("job-form").addEventListener("submit", submitJob);
  $("cancel").addEventListener("click", cancelCurrent);
  $("model").addEventListener("change", showModelLimits);
  $("refresh").addEventListener("click", loadHistory);
  for (const id of ["prompt", "script"]) $(id).addEventListener("input", updateCounters);
  $("video").addEventListener("error", () => $("player").classList.remove("has-video"));
  try {
    state.info = await api("GET", "/v1/info");
    $("prompt").maxLength = state.info.limits.max_prompt_chars;
    $("script").maxLength = state.info.limits.max_script_chars;
    if (!state.info.script_jobs) $("tab-script").disabled = true;
    fillVoiceAndMusic(state.info);
    state.models = (await api("GET", "/v1/models")).models;
    renderModels();
  } catch (err) { $("form-error").textContent = err.message; }
  updateCounters();
  await loadHistory();
  const running = lastJobs.find((j) => j.status === "running" || j.status === "queued");
  if (running) follow(running);
}

document.addEventListener("DOMContentLoaded", init);
