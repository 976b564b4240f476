package org.hibernate.agroal.internal;

/**
 * Test-only stand-in. debezium-connector-jdbc names this class as the default of its
 * {@code connection.provider} setting (a class literal in JdbcSinkConnectorConfig's static
 * initialiser), but hibernate-agroal is not on Maven Central at the version it depends on. The
 * config validation in ConnectConfigFilesTest never opens a connection, so only the name matters;
 * a real Connect worker ships the connector's own plugin directory, which includes the jar.
 */
public class AgroalConnectionProvider {
}
