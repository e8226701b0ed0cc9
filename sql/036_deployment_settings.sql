-- What a deployment is created with and keeps for its life, recorded by its first start: the count
-- of subject partitions (RTWS_PARTITIONS). Its subjects, durables and leases are numbered by it, so
-- a start with another count refuses to run rather than leave messages on partitions no worker
-- reads, or two workers on one customer.
CREATE TABLE deployment_settings (
  name   text PRIMARY KEY,
  value  text NOT NULL,
  set_at timestamptz NOT NULL DEFAULT now()
);
