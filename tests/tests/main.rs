//! The one integration test binary: both tiers against real RabbitMQ, PostgreSQL and Redis.

mod suite;
