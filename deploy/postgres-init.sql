-- One database per service: each owns its schema and migrations.
CREATE DATABASE auth;
CREATE DATABASE tasks;
