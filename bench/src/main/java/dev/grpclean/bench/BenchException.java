package dev.grpclean.bench;

/** A run that could not finish: the message is for the user, without a stack trace. */
final class BenchException extends Exception {
  private static final long serialVersionUID = 1L;

  BenchException(String message) {
    super(message);
  }
}
