package io.fractalrmo.registry.client;

import java.io.InputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * How to reach a schema registry, read from Confluent's client property names so that an
 * existing configuration carries over: {@code schema.registry.url} (comma-separated, tried in
 * turn), {@code basic.auth.credentials.source} ({@code USER_INFO} or {@code URL}) with
 * {@code basic.auth.user.info}, {@code schema.registry.ssl.*} (trust store, key store) and the
 * timeouts {@code http.connect.timeout.ms} / {@code http.read.timeout.ms}.
 */
public final class RegistryClientConfig {

  public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";
  public static final String BASIC_AUTH_CREDENTIALS_SOURCE = "basic.auth.credentials.source";
  public static final String BASIC_AUTH_USER_INFO = "basic.auth.user.info";
  public static final String SSL_PREFIX = "schema.registry.ssl.";
  public static final String CONNECT_TIMEOUT_MS = "http.connect.timeout.ms";
  public static final String READ_TIMEOUT_MS = "http.read.timeout.ms";

  private final List<URI> urls;
  private final Optional<String> authorization;
  private final Optional<SSLContext> sslContext;
  private final Duration connectTimeout;
  private final Duration readTimeout;

  private RegistryClientConfig(List<URI> urls, Optional<String> authorization,
      Optional<SSLContext> sslContext, Duration connectTimeout, Duration readTimeout) {
    this.urls = List.copyOf(urls);
    this.authorization = authorization;
    this.sslContext = sslContext;
    this.connectTimeout = connectTimeout;
    this.readTimeout = readTimeout;
  }

  /** Plain HTTP to one or more URLs, no authentication. */
  public static RegistryClientConfig of(String urls) {
    return from(Map.of(SCHEMA_REGISTRY_URL, urls));
  }

  /** Reads Confluent's property names; throws {@link IllegalArgumentException} on a bad value. */
  public static RegistryClientConfig from(Map<String, ?> props) {
    Object raw = props.get(SCHEMA_REGISTRY_URL);
    if (raw == null || raw.toString().isBlank()) {
      throw new IllegalArgumentException(SCHEMA_REGISTRY_URL + " is required");
    }
    List<String> given = new ArrayList<>();
    if (raw instanceof List<?> list) {
      list.forEach(o -> given.add(o.toString()));
    } else {
      for (String s : raw.toString().split(",")) {
        given.add(s);
      }
    }
    List<URI> urls = new ArrayList<>();
    String userInfoFromUrl = null;
    for (String s : given) {
      String trimmed = s.trim();
      if (trimmed.isEmpty()) {
        continue;
      }
      URI uri = URI.create(trimmed.endsWith("/") ? trimmed.substring(0, trimmed.length() - 1) : trimmed);
      if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))) {
        throw new IllegalArgumentException("schema registry URL must be http(s)://host:port: " + trimmed);
      }
      if (uri.getRawUserInfo() != null) {
        userInfoFromUrl = URLDecoder.decode(uri.getRawUserInfo(), StandardCharsets.UTF_8);
        uri = URI.create(uri.getScheme() + "://" + uri.getHost() + (uri.getPort() >= 0 ? ":" + uri.getPort() : "")
            + (uri.getRawPath() == null ? "" : uri.getRawPath()));
      }
      urls.add(uri);
    }
    if (urls.isEmpty()) {
      throw new IllegalArgumentException(SCHEMA_REGISTRY_URL + " names no URL");
    }

    Optional<String> auth = Optional.empty();
    String source = string(props, BASIC_AUTH_CREDENTIALS_SOURCE, "");
    String userInfo = switch (source.toUpperCase()) {
      // Unset: user info when given, else credentials in the URL (Confluent's default source is URL).
      case "" -> props.containsKey(BASIC_AUTH_USER_INFO) ? string(props, BASIC_AUTH_USER_INFO, "") : userInfoFromUrl;
      case "USER_INFO" -> string(props, BASIC_AUTH_USER_INFO, "");
      case "URL" -> userInfoFromUrl;
      default -> throw new IllegalArgumentException(BASIC_AUTH_CREDENTIALS_SOURCE + " '" + source
          + "' is not supported (USER_INFO or URL)");
    };
    if (userInfo != null && !userInfo.isEmpty()) {
      if (!userInfo.contains(":")) {
        throw new IllegalArgumentException("basic auth user info must be user:password");
      }
      auth = Optional.of("Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8)));
    }

    Optional<SSLContext> ssl = Optional.empty();
    if (urls.stream().anyMatch(u -> u.getScheme().equals("https"))
        || props.keySet().stream().anyMatch(k -> k.startsWith(SSL_PREFIX))) {
      ssl = Optional.of(sslContext(props));
    }
    return new RegistryClientConfig(urls, auth, ssl,
        Duration.ofMillis(Long.parseLong(string(props, CONNECT_TIMEOUT_MS, "5000"))),
        Duration.ofMillis(Long.parseLong(string(props, READ_TIMEOUT_MS, "10000"))));
  }

  public List<URI> urls() {
    return urls;
  }

  public Optional<String> authorization() {
    return authorization;
  }

  public Optional<SSLContext> sslContext() {
    return sslContext;
  }

  public Duration connectTimeout() {
    return connectTimeout;
  }

  public Duration readTimeout() {
    return readTimeout;
  }

  private static String string(Map<String, ?> props, String key, String dflt) {
    Object v = props.get(key);
    if (v == null) {
      return dflt;
    }
    if (v instanceof org.apache.kafka.common.config.types.Password p) {
      return p.value();
    }
    return v.toString();
  }

  private static SSLContext sslContext(Map<String, ?> props) {
    try {
      String protocol = string(props, SSL_PREFIX + "protocol", "TLS");
      TrustManagerFactory tmf = null;
      String trustLocation = string(props, SSL_PREFIX + "truststore.location", "");
      if (!trustLocation.isEmpty()) {
        KeyStore ts = load(trustLocation, string(props, SSL_PREFIX + "truststore.type", "JKS"),
            string(props, SSL_PREFIX + "truststore.password", ""));
        tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
      }
      KeyManagerFactory kmf = null;
      String keyLocation = string(props, SSL_PREFIX + "keystore.location", "");
      if (!keyLocation.isEmpty()) {
        String storePassword = string(props, SSL_PREFIX + "keystore.password", "");
        KeyStore ks = load(keyLocation, string(props, SSL_PREFIX + "keystore.type", "JKS"), storePassword);
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, string(props, SSL_PREFIX + "key.password", storePassword).toCharArray());
      }
      if (tmf == null && kmf == null) {
        return SSLContext.getDefault();
      }
      SSLContext ctx = SSLContext.getInstance(protocol);
      ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
      return ctx;
    } catch (Exception e) {
      throw new IllegalArgumentException("cannot set up TLS from " + SSL_PREFIX + "*: " + e.getMessage(), e);
    }
  }

  private static KeyStore load(String location, String type, String password) throws Exception {
    KeyStore ks = KeyStore.getInstance(type);
    try (InputStream in = Files.newInputStream(Path.of(location))) {
      ks.load(in, password.isEmpty() ? null : password.toCharArray());
    }
    return ks;
  }
}
