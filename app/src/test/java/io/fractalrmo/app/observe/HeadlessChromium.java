package io.fractalrmo.app.observe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fractalrmo.platform.FileTrees;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Debian's headless Chromium driven over the Chrome DevTools Protocol with java.net.http's
 * WebSocket: one page, navigate, evaluate JavaScript, take a screenshot. A fresh profile in a
 * temporary directory, deleted on close with the browser process and its children.
 */
final class HeadlessChromium implements AutoCloseable {

  static final Path BINARY = Path.of("/usr/bin/chromium");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern DEVTOOLS = Pattern.compile("DevTools listening on (ws://[^\\s]+)");

  private final Process process;
  private final Path profile;
  private final WebSocket socket;
  private final AtomicInteger ids = new AtomicInteger();
  private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
  private final List<String> consoleErrors = java.util.Collections.synchronizedList(new ArrayList<>());

  private HeadlessChromium(Process process, Path profile, WebSocket socket) {
    this.process = process;
    this.profile = profile;
    this.socket = socket;
  }

  static boolean installed() {
    return Files.isExecutable(BINARY);
  }

  static HeadlessChromium start(int width, int height) throws Exception {
    Path profile = Files.createTempDirectory("fractal-chromium-");
    ProcessBuilder builder = new ProcessBuilder(BINARY.toString(), "--headless", "--no-sandbox",
        "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile,
        "--remote-debugging-port=0", "--window-size=" + width + "," + height, "about:blank")
        .redirectErrorStream(true);
    // Chromium puts its singleton socket in a directory of its own under TMPDIR and leaves it:
    // inside the profile, it goes when the profile does
    Path tmp = Files.createDirectory(profile.resolve("tmp"));
    builder.environment().put("TMPDIR", tmp.toString());
    Process process = builder.start();
    try {
      String browserUrl = awaitDevTools(process, Duration.ofSeconds(60));
      int port = URI.create(browserUrl).getPort();
      HttpClient http = HttpClient.newHttpClient();
      String pageUrl = null;
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (pageUrl == null && System.nanoTime() < deadline) {
        JsonNode targets = JSON.readTree(http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
            HttpResponse.BodyHandlers.ofString()).body());
        for (JsonNode t : targets) {
          if ("page".equals(t.path("type").asText())) {
            pageUrl = t.path("webSocketDebuggerUrl").asText();
            break;
          }
        }
        if (pageUrl == null) {
          Thread.sleep(100); // polling interval of a deadline-bounded wait for the first page
        }
      }
      if (pageUrl == null) {
        throw new IllegalStateException("chromium opened no page");
      }
      AtomicReference<HeadlessChromium> self = new AtomicReference<>();
      WebSocket socket = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(20))
          .buildAsync(URI.create(pageUrl), new Listener(self)).get(30, TimeUnit.SECONDS);
      HeadlessChromium chromium = new HeadlessChromium(process, profile, socket);
      self.set(chromium);
      chromium.call("Page.enable", Map.of());
      chromium.call("Runtime.enable", Map.of());
      chromium.call("Emulation.setDeviceMetricsOverride", Map.of("width", width, "height", height,
          "deviceScaleFactor", 1, "mobile", false));
      return chromium;
    } catch (Exception e) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      FileTrees.deleteTree(profile);
      throw e;
    }
  }

  private static String awaitDevTools(Process process, Duration timeout) throws Exception {
    CompletableFuture<String> url = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      StringBuilder seen = new StringBuilder();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
          StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          Matcher m = DEVTOOLS.matcher(line);
          if (m.find()) {
            url.complete(m.group(1));
          } else if (!url.isDone() && seen.length() < 4_000) {
            seen.append(line).append('\n');
          }
        }
      } catch (IOException e) {
        // the browser went away
      }
      url.completeExceptionally(new IllegalStateException("chromium exited without DevTools:\n" + seen));
    }, "chromium-output");
    reader.setDaemon(true);
    reader.start();
    return url.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  JsonNode call(String method, Map<String, ?> params) throws Exception {
    int id = ids.incrementAndGet();
    CompletableFuture<JsonNode> answer = new CompletableFuture<>();
    pending.put(id, answer);
    ObjectNode message = JSON.createObjectNode().put("id", id).put("method", method);
    message.set("params", JSON.valueToTree(params));
    socket.sendText(message.toString(), true).get(10, TimeUnit.SECONDS);
    JsonNode reply = answer.get(60, TimeUnit.SECONDS);
    if (reply.has("error")) {
      throw new IllegalStateException(method + ": " + reply.get("error"));
    }
    return reply.path("result");
  }

  void navigate(String url) throws Exception {
    call("Page.navigate", Map.of("url", url));
  }

  /** Evaluates {@code expression} in the page and returns its value (JSON). */
  JsonNode eval(String expression) throws Exception {
    JsonNode result = call("Runtime.evaluate", Map.of("expression", expression,
        "returnByValue", true, "awaitPromise", true));
    if (result.has("exceptionDetails")) {
      throw new IllegalStateException("page threw: " + result.get("exceptionDetails"));
    }
    return result.path("result").path("value");
  }

  /** Waits until {@code expression} is true in the page; false when the deadline passed. */
  boolean await(String expression, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (eval("Boolean(" + expression + ")").asBoolean(false)) {
        return true;
      }
      Thread.sleep(50); // polling interval of a deadline-bounded wait on the rendered page
    }
    return false;
  }

  void screenshot(Path file) throws Exception {
    JsonNode shot = call("Page.captureScreenshot", Map.of("format", "png", "captureBeyondViewport", true));
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.write(file, Base64.getDecoder().decode(shot.path("data").asText()));
  }

  List<String> consoleErrors() {
    return List.copyOf(consoleErrors);
  }

  private void onMessage(String text) {
    try {
      JsonNode message = JSON.readTree(text);
      if (message.has("id")) {
        CompletableFuture<JsonNode> f = pending.remove(message.get("id").asInt());
        if (f != null) {
          f.complete(message);
        }
      } else if ("Runtime.exceptionThrown".equals(message.path("method").asText())
          || ("Runtime.consoleAPICalled".equals(message.path("method").asText())
              && "error".equals(message.path("params").path("type").asText()))) {
        consoleErrors.add(message.path("params").toString());
      }
    } catch (IOException e) {
      // not JSON: ignore
    }
  }

  @Override
  public void close() {
    try {
      socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      // closing anyway
    }
    process.descendants().forEach(ProcessHandle::destroy);
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    FileTrees.deleteTree(profile);
  }

  private static final class Listener implements WebSocket.Listener {
    private final AtomicReference<HeadlessChromium> owner;
    private final StringBuilder partial = new StringBuilder();

    Listener(AtomicReference<HeadlessChromium> owner) {
      this.owner = owner;
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        String text = partial.toString();
        partial.setLength(0);
        HeadlessChromium c = owner.get();
        if (c != null) { // null only before the first call is made: nothing to answer yet
          c.onMessage(text);
        }
      }
      webSocket.request(1);
      return null;
    }
  }
}
