-- Run once by the postgres image on an empty data directory (docker-compose.yml).
-- One database per service (DESIGN.md §6); `marque migrate <svc>` creates its tables.
CREATE DATABASE marque_inventory;
CREATE DATABASE marque_crm;
CREATE DATABASE marque_sales;
CREATE DATABASE marque_aftersales;
CREATE DATABASE marque_finance;
CREATE DATABASE marque_reporting;
CREATE DATABASE marque_gateway;
