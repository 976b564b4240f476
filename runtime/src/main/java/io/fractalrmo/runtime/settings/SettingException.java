package io.fractalrmo.runtime.settings;

/** A setting that is unknown, of the wrong type or out of range; the message names it. */
public final class SettingException extends IllegalArgumentException {
  private final String setting;

  public SettingException(String setting, String message) {
    super(message);
    this.setting = setting;
  }

  /** The setting's name as given. */
  public String setting() {
    return setting;
  }
}
