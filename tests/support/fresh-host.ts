// Makes a lab host "fresh" for the engine's tests: removes what a topology
// installs and writes, so an apply starts from nothing. (No imports: Playwright
// specs use it too.)
export const FRESH_HOST_COMMAND = [
  "sh",
  "-c",
  "systemctl disable --now rampart-app >/dev/null 2>&1; apt-get -y -q purge nginx nginx-common haproxy socat prometheus-node-exporter >/dev/null 2>&1; " +
    "DEBIAN_FRONTEND=noninteractive apt-get -y -q purge mariadb-server mariadb-server-core mariadb-client mariadb-client-core mariadb-common mysql-common python3-pymysql prometheus-mysqld-exporter >/dev/null 2>&1; rm -rf /var/lib/mysql /etc/mysql /var/log/mysql /etc/default/prometheus-mysqld-exporter; " +
    "rm -rf /etc/nginx /etc/haproxy /etc/prometheus /etc/default/prometheus-node-exporter /etc/rampart /etc/systemd/system/rampart-app.service /opt/rampart-app /var/www/rampart /var/lib/rampart; " +
    "userdel rampart-app >/dev/null 2>&1; " +
    // Rampart's firewall: the table, its boot unit and file, and any rollback still armed.
    "nft delete table inet rampart >/dev/null 2>&1; nft delete table inet other >/dev/null 2>&1; systemctl stop 'rampart-firewall-rollback-*.timer' >/dev/null 2>&1; " +
    "systemctl disable rampart-firewall >/dev/null 2>&1; rm -f /etc/systemd/system/rampart-firewall.service; systemctl daemon-reload; true",
];
