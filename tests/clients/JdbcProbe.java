// A JDBC client as a BI tool or a downstream Java system uses one: connect, read table metadata,
// run a prepared statement with a parameter. Prints one line per fact for the test to check.
// Run: java -cp /usr/share/java/postgresql.jar JdbcProbe.java URL USER PASSWORD
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Properties;

public class JdbcProbe {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        if (args.length > 2 && !args[2].isEmpty()) {
            props.setProperty("password", args[2]);
        }
        try (Connection conn = DriverManager.getConnection(args[0], props)) {
            DatabaseMetaData meta = conn.getMetaData();
            System.out.println("product " + meta.getDatabaseProductName() + " " + meta.getDatabaseProductVersion());
            try (ResultSet tables = meta.getTables(null, null, "%", new String[] {"TABLE"})) {
                while (tables.next()) {
                    System.out.println("table " + tables.getString("TABLE_SCHEM") + "." + tables.getString("TABLE_NAME"));
                }
            } catch (SQLException e) {
                System.out.println("getTables failed " + e.getSQLState() + " " + e.getMessage());
            }
            try (ResultSet columns = meta.getColumns(null, "sales", "orders", "%")) {
                while (columns.next()) {
                    System.out.println("column " + columns.getString("COLUMN_NAME") + " " + columns.getString("TYPE_NAME"));
                }
            } catch (SQLException e) {
                System.out.println("getColumns failed " + e.getSQLState() + " " + e.getMessage());
            }
            String sql = "select order_id, total_price, order_date from sales.orders where order_id = ? order by 1";
            try (PreparedStatement statement = conn.prepareStatement(sql)) {
                for (int i = 0; i < 6; i++) {  // past prepareThreshold (5): server-side prepared statements
                    statement.setInt(1, 1);
                    try (ResultSet rows = statement.executeQuery()) {
                        while (rows.next()) {
                            System.out.println("row " + i + " " + rows.getInt(1) + " " + rows.getBigDecimal(2) + " " + rows.getDate(3));
                        }
                    }
                }
            } catch (SQLException e) {
                System.out.println("prepared failed " + e.getSQLState());
            }
            try (PreparedStatement denied = conn.prepareStatement("select * from customers.customers")) {
                denied.executeQuery();
                System.out.println("denied-query ran");
            } catch (SQLException e) {
                System.out.println("denied " + e.getSQLState());
            }
        }
    }
}
