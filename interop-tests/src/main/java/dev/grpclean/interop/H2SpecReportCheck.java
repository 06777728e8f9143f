package dev.grpclean.interop;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

/**
 * Reads the JUnit report h2spec writes and fails when a case failed that is not excluded.
 *
 * <p>The h2spec Maven plugin 0.6 parses that report itself, but h2spec copies frame bytes into
 * its failure messages (a PING's opaque data is often NULs), which XML cannot carry: the
 * plugin's parser then gives up and the plugin reports "All test cases passed". This check drops
 * the characters XML 1.0 forbids before parsing, so such a run fails as it should.
 *
 * <p>Usage: {@code H2SpecReportCheck REPORT.xml ["<section> - <description>" ...]}, the exclusions
 * written as in the plugin's {@code excludeSpecs}. Throws (so {@code exec:java} fails the build)
 * rather than calling {@code System.exit}, which would end the Maven JVM.
 *
 * <p>Runs on the calling thread.
 */
public final class H2SpecReportCheck {
  private H2SpecReportCheck() {}

  public static void main(String[] args)
      throws IOException, ParserConfigurationException, SAXException {
    if (args.length < 1) {
      throw new IllegalArgumentException("usage: H2SpecReportCheck REPORT.xml [EXCLUDE...]");
    }
    Path report = Path.of(args[0]);
    Set<String> excluded = Set.copyOf(List.of(args).subList(1, args.length));
    String xml = Files.readString(report, StandardCharsets.UTF_8);
    Element root =
        DocumentBuilderFactory.newInstance()
            .newDocumentBuilder()
            .parse(new InputSource(new StringReader(withoutXmlForbiddenChars(xml))))
            .getDocumentElement();
    int total = 0;
    int skipped = 0;
    int ignored = 0;
    List<String> failures = new ArrayList<>();
    NodeList suites = root.getElementsByTagName("testsuite");
    for (int i = 0; i < suites.getLength(); i++) {
      Element suite = (Element) suites.item(i);
      NodeList cases = suite.getElementsByTagName("testcase");
      for (int j = 0; j < cases.getLength(); j++) {
        Element testCase = (Element) cases.item(j);
        total++;
        String id = suite.getAttribute("id") + " - " + testCase.getAttribute("classname");
        String problem = firstText(testCase, "failure", "error");
        if (testCase.getElementsByTagName("skipped").getLength() > 0) {
          skipped++;
        } else if (problem != null && excluded.contains(id)) {
          ignored++;
        } else if (problem != null) {
          // h2spec writes the expected events one per line, then the actual one.
          String[] lines = problem.trim().split("\n");
          failures.add(testCase.getAttribute("package") + " " + testCase.getAttribute("classname")
              + "\n    expected: " + String.join(" | ", List.of(lines).subList(0, lines.length - 1))
              + "\n    actual:   " + lines[lines.length - 1]);
        }
      }
    }
    System.out.printf("h2spec report: %d cases, %d passed, %d skipped, %d failed, %d excluded%n",
        total, total - skipped - ignored - failures.size(), skipped, failures.size(), ignored);
    failures.forEach(f -> System.out.println("FAIL " + f));
    if (total == 0) {
      throw new IllegalStateException("no h2spec case in " + report);
    }
    if (!failures.isEmpty()) {
      throw new IllegalStateException(failures.size() + " h2spec case(s) failed; see above");
    }
  }

  private static String firstText(Element testCase, String... tags) {
    for (String tag : tags) {
      NodeList nodes = testCase.getElementsByTagName(tag);
      if (nodes.getLength() > 0) {
        return nodes.item(0).getTextContent();
      }
    }
    return null;
  }

  /** XML 1.0 §2.2: only tab, LF, CR and U+0020 and up (surrogates aside) may appear. */
  static String withoutXmlForbiddenChars(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c != 0xFFFE && c != 0xFFFF || c == '\t' || c == '\n' || c == '\r') {
        out.append(c);
      }
    }
    return out.toString();
  }
}
