// The browser as the agent's phone (docs/agents.md "The browser as the agent's phone"):
// `startPhone({ agentId })` takes the microphone, offers a WebRTC session to outdial
// (POST /v1.0/agents/{id}/phone, non-trickle: the offer carries every ICE candidate) and plays
// what outdial sends (the callee, while a call is connected) in an <audio> element. While the
// session is open, outdial connects the agent's callees to this page instead of dialing the
// agent's SIP address. `stop()` hangs up (DELETE); closing the page ends the session too, and
// the agent is then `offline`.
//
//   const phone = await startPhone({ agentId, onState: (s) => console.log(s) });
//   phone.state();   // "connecting" | "connected" | "disconnected" | "failed" | "closed"
//   await phone.stats(); // { packetsReceived, packetsSent, bytesReceived, totalAudioEnergy }
//   await phone.stop();
// `headers(method)` gives the request's credentials headers (default: the console's; the agent
// page passes its session's CSRF header).
import { ApiError, auth } from "./api.js";

const ICE_WAIT_MS = 5000; // at most this long for the browser's candidates

function phoneUrl(agentId) {
  return `/v1.0/agents/${encodeURIComponent(agentId)}/phone`;
}

const consoleHeaders = (method) => auth.headers(method); // the console's key or session

async function request(method, agentId, body, headersFor = consoleHeaders) {
  const headers = headersFor(method);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(phoneUrl(agentId), {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); pc.removeEventListener("icegatheringstatechange", check); resolve(); };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const timer = setTimeout(done, ICE_WAIT_MS);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

export async function startPhone({ agentId, audio = null, onState = () => {}, headers = consoleHeaders } = {}) {
  if (!agentId) throw new Error("startPhone needs the agent's id");
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  const pc = new RTCPeerConnection({ iceServers: [] });
  const player = audio || document.createElement("audio");
  player.autoplay = true;
  if (!audio) { player.hidden = true; document.body.append(player); }
  let stopped = false;
  const state = () => (stopped ? "closed" : pc.connectionState);
  pc.addEventListener("connectionstatechange", () => onState(state()));
  pc.addEventListener("track", (e) => { player.srcObject = e.streams[0] || new MediaStream([e.track]); });
  for (const track of mic.getAudioTracks()) pc.addTrack(track, mic);
  const release = () => {
    stopped = true;
    for (const track of mic.getTracks()) track.stop();
    pc.close();
    player.srcObject = null;
    if (!audio) player.remove();
    onState("closed");
  };
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const answer = await request("POST", agentId, { type: "offer", sdp: pc.localDescription.sdp }, headers);
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  } catch (e) {
    release();
    throw e;
  }
  // Best effort on page close: the server also notices the closed peer connection.
  const onHide = () => { if (!stopped) release(); };
  window.addEventListener("pagehide", onHide);

  async function stats() {
    // totalAudioEnergy: what was heard (0 for silence), as the browser measures it
    const out = { packetsReceived: 0, packetsSent: 0, bytesReceived: 0, totalAudioEnergy: 0 };
    if (stopped) return out;
    (await pc.getStats()).forEach((s) => {
      if (s.kind !== "audio") return;
      if (s.type === "inbound-rtp") {
        out.packetsReceived += s.packetsReceived || 0; out.bytesReceived += s.bytesReceived || 0;
        out.totalAudioEnergy += s.totalAudioEnergy || 0;
      }
      if (s.type === "outbound-rtp") out.packetsSent += s.packetsSent || 0;
    });
    return out;
  }

  async function stop() {
    if (stopped) return;
    window.removeEventListener("pagehide", onHide);
    release();
    await request("DELETE", agentId, undefined, headers).catch(() => {});
  }

  return { stop, state, stats, audio: player, pc };
}

// The agent page's control (its `agent-phone` section): one button that opens and hangs up
// the browser phone, a line that says the phone's state, and the <audio> element it plays in.
export function mountPhoneControl(container, agentId, { headers = consoleHeaders } = {}) {
  const status = document.createElement("p");
  status.setAttribute("role", "status");
  status.className = "phone-state";
  status.textContent = "Phone: off";
  const audio = document.createElement("audio");
  audio.hidden = true;
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Use this browser as my phone";
  let phone = null;
  const show = (s) => { status.textContent = `Phone: ${s === "closed" ? "off" : s}`; };
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      if (phone) {
        await phone.stop(); phone = null;
        button.textContent = "Use this browser as my phone";
      } else {
        show("connecting");
        phone = await startPhone({ agentId, audio, onState: show, headers });
        show(phone.state());
        button.textContent = "Hang up the browser phone";
      }
    } catch (e) {
      phone = null;
      status.textContent = `Phone: ${e.message || e}`;
    } finally {
      button.disabled = false;
    }
  });
  container.append(button, status, audio);
  return { button, status, audio, get phone() { return phone; } };
}
